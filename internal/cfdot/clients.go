package cfdot

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// bbs returns a BBS client for the command's settings and ctx carrying the
// command's request id: one id for all the requests of a command, one
// attempt per request (an operator retries by hand), --timeout per request.
func (c *conn) bbs(ctx context.Context) (context.Context, *bbsclient.Client, error) {
	var t *tls.Config
	var err error
	if c.skipVerify {
		t, err = tlsconfig.ClientSkipVerify(c.certFile, c.keyFile)
	} else {
		t, err = tlsconfig.Client(tlsconfig.Files{CAFile: c.caFile, CertFile: c.certFile, KeyFile: c.keyFile}, "")
	}
	if err != nil {
		return ctx, nil, commandErr(err)
	}
	client, err := bbsclient.New(bbsclient.Config{
		URL:            c.bbsURL,
		TLS:            t,
		Retries:        1,
		RequestTimeout: time.Duration(c.timeout) * time.Second,
	})
	if err != nil {
		return ctx, nil, commandErr(err)
	}
	return bbsclient.WithRequestID(ctx, bbsclient.NewRequestID()), client, nil
}

// locket connects to locket (waiting up to 10 s for the connection); a
// failure ends cfdot with ExitComponent. --timeout does not apply.
func (c *conn) locket(ctx context.Context) (*locketclient.Conn, error) {
	cfg := locketclient.Config{
		LocketAddress:        c.locketAddress,
		LocketCACertFile:     c.caFile,
		LocketClientCertFile: c.certFile,
		LocketClientKeyFile:  c.keyFile,
	}
	dial := locketclient.Dial
	if c.skipVerify {
		dial = locketclient.DialSkipVerify
	}
	lc, err := dial(ctx, cfg)
	if err != nil {
		return nil, componentErr(locketCause(err))
	}
	return lc, nil
}

// locketCause drops the client package's prefix so that the message is the
// cause alone, as operators know it ("context deadline exceeded" when
// locket cannot be reached, "failed to load keypair: ..." for bad files).
func locketCause(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}
