package cache

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
)

// Reference values of the downloader.
const (
	DefaultAttempts     = 4
	DefaultTimeout      = 10 * time.Minute
	DefaultIdleTimeout  = 10 * time.Second
	DefaultRetryWait    = 500 * time.Millisecond
	DefaultMaxRetryWait = 5 * time.Second
	maxJitter           = 200 * time.Millisecond
)

// StatusError is a download answered with another status than 200 (or 304
// to a conditional request).
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("Download failed: Status code %d", e.Code) }

// download is one fetched file, before its conversion to tar.
type download struct {
	path         string // "" when the cached copy is still fresh (304)
	size         int64
	digests      map[string]string
	etag         string
	lastModified string
}

func (d download) cacheable() bool { return d.etag != "" || d.lastModified != "" }

// newClient is the reference downloader's client: a timeout per download,
// an idle timeout per read and write, no keep-alives.
func newClient(timeout, idle time.Duration, tlsConfig *tls.Config) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &idleConn{Conn: c, idle: idle}, nil
			},
			TLSHandshakeTimeout: 10 * time.Second,
			TLSClientConfig:     tlsConfig,
			DisableKeepAlives:   true,
		},
	}
}

// idleConn fails a read or write that makes no progress for idle.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// fetch downloads u into a new file of dir, retrying failures (other than
// a checksum mismatch or cancellation) with a growing wait. prev, when not
// nil, makes the request conditional on its validators.
func (c *Cache) fetch(ctx context.Context, logger lager.Logger, u *url.URL, prev *entry, sum Checksum) (download, error) {
	var err error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		var d download
		d, err = c.fetchOnce(ctx, u, prev, sum)
		if err == nil {
			return d, nil
		}
		var cf *ChecksumFailedError
		if ctx.Err() != nil || errors.As(err, &cf) {
			break
		}
		if attempt == c.cfg.Attempts-1 {
			break
		}
		wait := min(c.cfg.RetryWait<<attempt, c.cfg.MaxRetryWait) + rand.N(maxJitter)
		logger.Info("retrying", lager.Data{"attempt": attempt, "error": err.Error(), "wait": wait.String()})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		return download{}, fmt.Errorf("download cancelled: %w", ctx.Err())
	}
	return download{}, err
}

func (c *Cache) fetchOnce(ctx context.Context, u *url.URL, prev *entry, sum Checksum) (download, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return download{}, err
	}
	if prev != nil && prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev != nil && prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return download{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && prev != nil {
		return download{}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return download{}, &StatusError{Code: resp.StatusCode}
	}
	f, err := os.CreateTemp(c.tmpDir, "download-")
	if err != nil {
		return download{}, err
	}
	d := download{path: f.Name(), etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	dig := newDigester()
	d.size, err = io.Copy(io.MultiWriter(f, dig), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		d.digests = dig.sums()
		err = sum.check(d.digests)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return download{}, err
	}
	return d, nil
}
