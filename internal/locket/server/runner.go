package server

import (
	"crypto/tls"
	"net"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// GRPCRunner serves a LocketServer over TLS on Address. It is an ifrit
// runner: ready once listening, and on a signal it stops gracefully,
// cutting off calls still running after ten seconds.
type GRPCRunner struct {
	Logger    lager.Logger
	Address   string
	TLSConfig *tls.Config
	Handler   locketpb.LocketServer
	// Listening, if set, receives the bound address (useful with port 0).
	Listening func(net.Addr)
}

// Run implements ifrit.Runner.
func (r *GRPCRunner) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := r.Logger.Session("grpc-server")
	ln, err := net.Listen("tcp", r.Address)
	if err != nil {
		logger.Error("failed-to-listen", err)
		return err
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(r.TLSConfig)))
	locketpb.RegisterLocketServer(srv, r.Handler)
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	if r.Listening != nil {
		r.Listening(ln.Addr())
	}
	logger.Info("listening", lager.Data{"address": ln.Addr().String()})
	close(ready)

	select {
	case err := <-errCh:
		logger.Error("serve-failed", err)
		return err
	case <-signals:
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			srv.Stop()
		}
		return nil
	}
}
