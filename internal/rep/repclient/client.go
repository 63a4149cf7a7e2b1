// Package repclient is the BBS's client of a cell's rep (reference notes:
// bbs-api §7.2, auction-rep-executor §3.2): stop an LRP instance, cancel a
// task, update an instance's internal routes and metric tags.
//
//	BBS --POST /v1/lrps/{pg}/instances/{ig}/stop--> rep (202)
//	    --POST /v1/tasks/{tg}/cancel-------------->     (202)
//	    --PUT  /v2/lrps/{pg}/instances/{ig}------->     (202; 404 from an old rep → PUT /v1/...)
//
// A cell is addressed by the rep_url of its presence (bbs/cells), which must
// be https: the BBS always requires TLS towards reps. Every call is mutual
// TLS with the rep client certificate.
package repclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/httpclient"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// RequestIDHeader carries the caller's trace id.
const RequestIDHeader = "X-Vcap-Request-Id"

// DefaultTimeout is the reference's communication_timeout.
const DefaultTimeout = 10 * time.Second

// ErrHTTPSRequired is returned for a rep URL that is not https.
var ErrHTTPSRequired = errors.New("https scheme is required but none of the addresses support it")

// Config configures a Client; the keys are those of the BBS config.
type Config struct {
	// CAFile verifies reps (rep_ca_cert); CertFile and KeyFile are the
	// client identity (rep_client_cert, rep_client_key). All are required.
	CAFile   string
	CertFile string
	KeyFile  string

	// SessionCacheSize is rep_client_session_cache_size, the number of TLS
	// sessions kept for resumption; zero means crypto/tls's default.
	SessionCacheSize int

	// Timeout bounds each HTTP request (communication_timeout); zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Client calls reps. It is safe for concurrent use; one client serves every
// cell.
type Client struct {
	http *http.Client
}

// StatusError is an answer other than the expected 202 Accepted.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http error: status code %d (%s)", e.StatusCode, http.StatusText(e.StatusCode))
}

// New builds a client from cfg.
func New(cfg Config) (*Client, error) {
	tc, err := tlsconfig.Client(tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}, "")
	if err != nil {
		return nil, fmt.Errorf("rep client: %w", err)
	}
	tc.ClientSessionCache = tls.NewLRUClientSessionCache(cfg.SessionCacheSize)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{http: httpclient.New(tc, httpclient.Options{Timeout: timeout, MaxIdleConnsPerHost: 4})}, nil
}

// StopLRPInstance asks the rep at repURL to stop an instance. The rep
// removes the actual LRP itself once the container is gone.
func (c *Client) StopLRPInstance(ctx context.Context, repURL string, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	path := "/v1/lrps/" + url.PathEscape(key.GetProcessGuid()) + "/instances/" + url.PathEscape(instanceKey.GetInstanceGuid()) + "/stop"
	status, err := c.do(ctx, http.MethodPost, repURL, path, nil, true)
	if err != nil {
		return err
	}
	return expectAccepted(status)
}

// CancelTask asks the rep at repURL to cancel a task.
func (c *Client) CancelTask(ctx context.Context, repURL, taskGuid string) error {
	status, err := c.do(ctx, http.MethodPost, repURL, "/v1/tasks/"+url.PathEscape(taskGuid)+"/cancel", nil, false)
	if err != nil {
		return err
	}
	return expectAccepted(status)
}

// UpdateLRPInstance sends new internal routes and metric tags to the rep
// running an instance. A rep that does not know the v2 route (404) gets
// the internal routes alone on the v1 route, if there are any; otherwise,
// and when the v1 route is unknown too, the update is skipped without
// error: the rep will be replaced by one that knows it.
func (c *Client) UpdateLRPInstance(ctx context.Context, repURL string, update *LRPUpdate) error {
	status, err := c.putUpdate(ctx, repURL, "/v2", update)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		if update.InternalRoutes == nil {
			return nil
		}
		legacy := *update
		legacy.MetricTags = nil
		status, err = c.putUpdate(ctx, repURL, "/v1", &legacy)
		if err != nil {
			return err
		}
		if status == http.StatusNotFound {
			return nil
		}
	}
	return expectAccepted(status)
}

func (c *Client) putUpdate(ctx context.Context, repURL, version string, update *LRPUpdate) (int, error) {
	body, err := json.Marshal(update)
	if err != nil {
		return 0, fmt.Errorf("rep client: encoding update: %w", err)
	}
	path := version + "/lrps/" + url.PathEscape(update.ProcessGuid) + "/instances/" + url.PathEscape(update.InstanceGuid)
	return c.do(ctx, http.MethodPut, repURL, path, body, true)
}

// do sends one request and returns the answer's status.
func (c *Client) do(ctx context.Context, method, repURL, path string, body []byte, jsonBody bool) (int, error) {
	base, err := parseRepURL(repURL)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("rep client: %w", err)
	}
	if jsonBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := bbsclient.RequestID(ctx); id != "" {
		req.Header.Set(RequestIDHeader, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("rep client: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func parseRepURL(repURL string) (string, error) {
	u, err := url.Parse(repURL)
	if err != nil {
		return "", fmt.Errorf("rep client: rep url: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("rep client: rep url %q: %w", repURL, ErrHTTPSRequired)
	}
	return repURL, nil
}

func expectAccepted(status int) error {
	if status != http.StatusAccepted {
		return &StatusError{StatusCode: status}
	}
	return nil
}
