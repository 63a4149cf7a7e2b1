// Package client is the Go client of the whole BBS API (reference notes §1,
// §2.5): one method per route, context first, protobuf bodies over HTTP/1.1
// and mutual TLS. The auctioneer, rep, route-emitter, ssh-proxy and cfdot
// use it.
//
// Behaviour callers rely on, as with the reference client:
//   - errors the BBS answers in-band (HTTP 200, field 1 of the response) are
//     returned as *models.Error and never retried;
//   - transport failures and non-protobuf answers (503 while migrating, 404
//     from an older BBS, ...) are retried Retries times, RetryInterval apart;
//     a non-protobuf answer above 299 becomes an InvalidResponse error
//     "Invalid Response with status code: N", a timeout a Timeout error;
//   - StartActualLRP and EvacuateRunningActualLRP fall back to the previous
//     route revision when the current one answers a plain 404;
//   - event streams reconnect by themselves (see EventSource).
//
// Every request carries an X-Vcap-Request-Id: the one put in the context
// with WithRequestID, or a fresh one.
package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// Defaults, as in the reference client.
const (
	DefaultRetries             = 3
	DefaultRetryInterval       = 500 * time.Millisecond
	DefaultStreamRetryInterval = time.Second
	DialTimeout                = 5 * time.Second
	IdleConnTimeout            = 90 * time.Second
	StreamKeepAlive            = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	// URL of the BBS, https only, e.g. https://bbs.service.cf.internal:8889.
	URL string

	// CAFile verifies the server; CertFile and KeyFile are the client's
	// identity. With InsecureSkipVerify the server is not verified and
	// CAFile is not read.
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
	// TLS, if set, is used instead of the files above.
	TLS *tls.Config

	// RequestTimeout bounds each attempt of a request; 0 = no limit. Event
	// streams are not bounded.
	RequestTimeout time.Duration
	// Retries is the number of attempts of a request (0 = DefaultRetries),
	// and the number of reconnection retries of an event stream after a
	// connection error.
	Retries int
	// RetryInterval separates request attempts (0 = DefaultRetryInterval).
	RetryInterval time.Duration
	// StreamRetryInterval separates event stream reconnections
	// (0 = DefaultStreamRetryInterval).
	StreamRetryInterval time.Duration

	// ClientSessionCacheSize is the TLS session cache size (0 = Go's default).
	ClientSessionCacheSize int
	// MaxIdleConnsPerHost bounds the kept-alive connections (0 = Go's default).
	MaxIdleConnsPerHost int
}

// Client calls one BBS. It is safe for concurrent use.
type Client struct {
	baseURL             string
	http                *http.Client
	stream              *http.Client
	retries             int
	retryInterval       time.Duration
	streamRetryInterval time.Duration
}

// New validates cfg, loads the TLS files and returns a client. It does not
// connect.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("bbs client: invalid URL %q: %w", cfg.URL, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bbs client: expected an https URL, got %q", cfg.URL)
	}
	tlsCfg, err := clientTLS(cfg)
	if err != nil {
		return nil, fmt.Errorf("bbs client: %w", err)
	}
	c := &Client{
		baseURL:             strings.TrimSuffix(u.String(), "/"),
		retries:             cfg.Retries,
		retryInterval:       cfg.RetryInterval,
		streamRetryInterval: cfg.StreamRetryInterval,
	}
	if c.retries <= 0 {
		c.retries = DefaultRetries
	}
	if c.retryInterval <= 0 {
		c.retryInterval = DefaultRetryInterval
	}
	if c.streamRetryInterval <= 0 {
		c.streamRetryInterval = DefaultStreamRetryInterval
	}
	c.http = &http.Client{
		Transport: transport(tlsCfg, cfg.MaxIdleConnsPerHost, 0),
		Timeout:   cfg.RequestTimeout,
	}
	c.stream = &http.Client{Transport: transport(tlsCfg, cfg.MaxIdleConnsPerHost, StreamKeepAlive)}
	return c, nil
}

// CloseIdleConnections closes the kept-alive connections nobody uses.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
	c.stream.CloseIdleConnections()
}

func clientTLS(cfg Config) (*tls.Config, error) {
	var t *tls.Config
	var err error
	switch {
	case cfg.TLS != nil:
		t = cfg.TLS.Clone()
	case cfg.InsecureSkipVerify:
		t, err = tlsconfig.ClientSkipVerify(cfg.CertFile, cfg.KeyFile)
	default:
		t, err = tlsconfig.Client(tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}, "")
	}
	if err != nil {
		return nil, err
	}
	if t.ClientSessionCache == nil {
		t.ClientSessionCache = tls.NewLRUClientSessionCache(cfg.ClientSessionCacheSize)
	}
	t.NextProtos = []string{"http/1.1"}
	return t, nil
}

// transport speaks HTTP/1.1 only, as the BBS does.
func transport(t *tls.Config, maxIdlePerHost int, keepAlive time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: DialTimeout, KeepAlive: keepAlive}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     t,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     IdleConnTimeout,
		MaxIdleConnsPerHost: maxIdlePerHost,
		Protocols:           &protocols,
	}
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying id as the X-Vcap-Request-Id of the
// requests made with it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a random 128-bit id in hex, the form of the
// reference's trace ids.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on the platforms we run on
	return hex.EncodeToString(b[:])
}

func requestIDFor(ctx context.Context) string {
	if id := RequestID(ctx); id != "" {
		return id
	}
	return NewRequestID()
}

// routeByName finds a route of the table; a miss is a bug in this package,
// reported as an error rather than a panic.
func routeByName(name string) (routes.Route, error) {
	r, ok := routes.Lookup(name)
	if !ok {
		return routes.Route{}, fmt.Errorf("bbs client: unknown route %q", name)
	}
	return r, nil
}

// Ping reports whether the BBS answers and is ready (migrated). Any error
// reads as false.
func (c *Client) Ping(ctx context.Context) bool {
	var resp models.PingResponse
	if err := c.call(ctx, routes.Ping, nil, &resp); err != nil {
		return false
	}
	return resp.GetAvailable()
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isTimeout reports whether err is a network or deadline timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
