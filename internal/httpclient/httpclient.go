// Package httpclient builds the HTTP/1.1 clients the daemons use to call
// each other (BBS to auctioneer and reps, task callbacks, ...), with the
// same dial, handshake and idle settings everywhere.
package httpclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Options tune a client.
type Options struct {
	// Timeout bounds a whole request; zero means none.
	Timeout time.Duration
	// MaxIdleConnsPerHost keeps that many connections to each peer for
	// reuse (default 16).
	MaxIdleConnsPerHost int
}

// New returns an HTTP/1.1 client with tc as its TLS configuration (nil for
// plain HTTP).
func New(tc *tls.Config, o Options) *http.Client {
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 16
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			TLSClientConfig:     tc,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConnsPerHost: o.MaxIdleConnsPerHost,
			Protocols:           &protocols,
		},
	}
}
