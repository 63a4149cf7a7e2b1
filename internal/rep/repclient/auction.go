package repclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/httpclient"
	"github.com/diego-go/diego/internal/rep/repmodels"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// The auctioneer's calls to reps (auction-rep-executor §1.5, §1.6, §3.2):
//
//	auctioneer --GET  /state--> rep  200 CellState (anything else: the cell sits the round out)
//	           --POST /work --> rep  200 Work, the items the rep refused
//
// One AuctionClient serves every cell of every round: connections are kept
// alive between rounds and TLS sessions are resumed, so a warm round costs
// one request per cell, not one handshake. Sessions are cached by host
// name, as crypto/tls does: reps need distinct names in their rep_url (the
// reference's <cell-id>.cell.service.cf.internal), or they resume each
// other's sessions in vain.

// The rep's auction routes.
const (
	StatePath = "/state"
	WorkPath  = "/work"
)

// MaxStateBytes bounds a /state answer: a full cell with thousands of
// containers is a few MB.
const MaxStateBytes = 64 << 20

// AuctionConfig configures an AuctionClient; the keys are the auctioneer's.
type AuctionConfig struct {
	// CAFile, CertFile and KeyFile are rep_ca_cert, rep_client_cert and
	// rep_client_key. All are required: reps only speak mutual TLS.
	CAFile   string
	CertFile string
	KeyFile  string
	// TLS, if set, is used instead of the files.
	TLS *tls.Config

	// SessionCacheSize is rep_client_session_cache_size (0: crypto/tls's
	// default).
	SessionCacheSize int

	// StateTimeout bounds a GET /state (cell_state_timeout), WorkTimeout a
	// POST /work (communication_timeout); zero means DefaultTimeout.
	StateTimeout time.Duration
	WorkTimeout  time.Duration

	// MaxIdleConnsPerHost is how many connections to each rep are kept
	// (default 2: a round makes at most two requests to a cell).
	MaxIdleConnsPerHost int

	// DialContext, if set, replaces the dialer (benchmarks resolve the
	// reps' host names to loopback with it).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// AuctionClient fetches cell states and sends work. It is safe for
// concurrent use.
type AuctionClient struct {
	http         *http.Client
	stateTimeout time.Duration
	workTimeout  time.Duration
}

// NewAuctionClient builds the client from cfg.
func NewAuctionClient(cfg AuctionConfig) (*AuctionClient, error) {
	tc := cfg.TLS
	if tc == nil {
		var err error
		tc, err = tlsconfig.Client(tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}, "")
		if err != nil {
			return nil, fmt.Errorf("rep client: %w", err)
		}
	} else {
		tc = tc.Clone()
	}
	if tc.ClientSessionCache == nil {
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(cfg.SessionCacheSize)
	}
	idle := cfg.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = 2
	}
	c := &AuctionClient{
		// No client-wide timeout: each call bounds itself with its own.
		http:         httpclient.New(tc, httpclient.Options{MaxIdleConnsPerHost: idle}),
		stateTimeout: cfg.StateTimeout,
		workTimeout:  cfg.WorkTimeout,
	}
	if cfg.DialContext != nil {
		c.http.Transport.(*http.Transport).DialContext = cfg.DialContext
	}
	if c.stateTimeout <= 0 {
		c.stateTimeout = DefaultTimeout
	}
	if c.workTimeout <= 0 {
		c.workTimeout = DefaultTimeout
	}
	return c, nil
}

// CloseIdleConnections closes the kept-alive connections nobody uses.
func (c *AuctionClient) CloseIdleConnections() { c.http.CloseIdleConnections() }

// State fetches the state of the rep at repURL (an https rep_url). Any
// answer but 200 is a *StatusError, as the reference client treats the
// rep's 503 "garden unhealthy" (whose body is a valid state) as a failure.
func (c *AuctionClient) State(ctx context.Context, repURL string) (*repmodels.CellState, error) {
	ctx, cancel := context.WithTimeout(ctx, c.stateTimeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodGet, repURL, StatePath, nil)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{StatusCode: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rep client: reading state: %w", err)
	}
	if len(body) > MaxStateBytes {
		return nil, fmt.Errorf("rep client: state larger than %d bytes", MaxStateBytes)
	}
	state := &repmodels.CellState{}
	if err := json.Unmarshal(body, state); err != nil {
		return nil, fmt.Errorf("rep client: decoding state: %w", err)
	}
	return state, nil
}

// Perform posts work to the rep at repURL and returns the part the rep
// refused. An error means the rep's answer is unknown: it may have started
// any part of the work.
func (c *AuctionClient) Perform(ctx context.Context, repURL string, work *repmodels.Work) (*repmodels.Work, error) {
	body, err := json.Marshal(work)
	if err != nil {
		return nil, fmt.Errorf("rep client: encoding work: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.workTimeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodPost, repURL, WorkPath, body)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{StatusCode: resp.StatusCode}
	}
	failed := &repmodels.Work{}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxStateBytes)).Decode(failed); err != nil {
		return nil, fmt.Errorf("rep client: decoding work answer: %w", err)
	}
	return failed, nil
}

func (c *AuctionClient) send(ctx context.Context, method, repURL, path string, body []byte) (*http.Response, error) {
	base, err := parseRepURL(repURL)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("rep client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := bbsclient.RequestID(ctx); id != "" {
		req.Header.Set(RequestIDHeader, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rep client: %w", err)
	}
	return resp, nil
}

// drain reads a little of what is left, so that the connection can be
// reused, and closes the body.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
