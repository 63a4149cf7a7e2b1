// Package auctioneerclient is how the BBS asks the auctioneer to place LRP
// instances and tasks (reference notes: bbs-api §7.1, auction-rep-executor
// §1.2), and the request bodies the auctioneer decodes.
//
//	BBS --POST /v1/lrps  [LRPStartRequest...]--> auctioneer  (202 Accepted)
//	    --POST /v1/tasks [TaskStartRequest...]-->
//
// The calls are fire-and-forget from the API caller's point of view: an
// error is logged by the BBS and convergence asks again later.
package auctioneerclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/httpclient"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// The auctioneer's routes.
const (
	LRPAuctionsPath  = "/v1/lrps"
	TaskAuctionsPath = "/v1/tasks"
)

// RequestIDHeader carries the caller's trace id.
const RequestIDHeader = "X-Vcap-Request-Id"

// DefaultTimeout is the reference's communication_timeout.
const DefaultTimeout = 10 * time.Second

// Config configures a Client; the keys are those of the BBS config.
type Config struct {
	// URL is auctioneer_address, e.g. https://auctioneer.service.cf.internal:9016.
	URL string

	// CAFile, CertFile and KeyFile (auctioneer_ca_cert, auctioneer_client_cert,
	// auctioneer_client_key) make the client speak mutual TLS. When all three
	// are empty it speaks plain HTTP to URL as given.
	CAFile   string
	CertFile string
	KeyFile  string

	// RequireTLS is auctioneer_require_tls. When false, a request whose TLS
	// attempt fails at the transport level is sent once more over plain
	// HTTP (the same URL with scheme http), as the reference does while a
	// deployment moves to TLS.
	RequireTLS bool

	// Timeout bounds each HTTP attempt (communication_timeout); zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Client sends auction requests. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	secure *http.Client // nil when no TLS files are configured
	plain  *http.Client
	// fallback allows the plain HTTP retry after a failed TLS attempt.
	fallback bool
}

// StatusError is an answer other than 202 Accepted.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http error: status code %d (%s)", e.StatusCode, http.StatusText(e.StatusCode))
}

// New checks cfg and builds a client.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("auctioneer client: auctioneer_address: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("auctioneer client: auctioneer_address %q is not an http(s) URL", cfg.URL)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{base: base, plain: newHTTPClient(nil, timeout)}
	if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		tc, err := tlsconfig.Client(tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}, "")
		if err != nil {
			return nil, fmt.Errorf("auctioneer client: %w", err)
		}
		c.secure = newHTTPClient(tc, timeout)
		c.fallback = !cfg.RequireTLS
	}
	return c, nil
}

func newHTTPClient(tc *tls.Config, timeout time.Duration) *http.Client {
	return httpclient.New(tc, httpclient.Options{Timeout: timeout})
}

// RequestLRPAuctions asks for the instances in starts to be placed. The
// trace id in ctx (bbs/client.WithRequestID) is forwarded.
func (c *Client) RequestLRPAuctions(ctx context.Context, starts []*LRPStartRequest) error {
	return c.post(ctx, LRPAuctionsPath, starts)
}

// RequestTaskAuctions asks for the tasks in starts to be placed. The trace
// id in ctx is forwarded.
func (c *Client) RequestTaskAuctions(ctx context.Context, starts []*TaskStartRequest) error {
	return c.post(ctx, TaskAuctionsPath, starts)
}

func (c *Client) post(ctx context.Context, path string, body any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("auctioneer client: encoding request: %w", err)
	}
	target := *c.base
	target.Path = strings.TrimSuffix(target.Path, "/") + path

	var resp *http.Response
	if c.secure == nil {
		resp, err = send(ctx, c.plain, target, payload)
	} else {
		resp, err = send(ctx, c.secure, target, payload)
		if err != nil && c.fallback && ctx.Err() == nil {
			tlsErr := err
			target.Scheme = "http"
			resp, err = send(ctx, c.plain, target, payload)
			if err != nil {
				err = fmt.Errorf("%w (after the TLS attempt failed: %v)", err, tlsErr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("auctioneer client: %w", err)
	}
	defer closeBody(resp)
	if resp.StatusCode != http.StatusAccepted {
		return &StatusError{StatusCode: resp.StatusCode}
	}
	return nil
}

func send(ctx context.Context, hc *http.Client, target url.URL, payload []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if id := bbsclient.RequestID(ctx); id != "" {
		req.Header.Set(RequestIDHeader, id)
	}
	return hc.Do(req)
}

// closeBody reads a little of what is left, so that the connection can be
// reused, and closes the body.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
