// Package client connects to locket and keeps a lock or a presence: what
// the BBS, auctioneer, route-emitter, rep and cfdot use.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/tlsconfig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Config is the locket client block of the reference's daemon configs.
type Config struct {
	LocketAddress                string `json:"locket_address,omitempty"`
	LocketCACertFile             string `json:"locket_ca_cert_file,omitempty"`
	LocketClientCertFile         string `json:"locket_client_cert_file,omitempty"`
	LocketClientKeyFile          string `json:"locket_client_key_file,omitempty"`
	LocketClientKeepAliveTime    int    `json:"locket_client_keepalive_time,omitempty"`
	LocketClientKeepAliveTimeout int    `json:"locket_client_keepalive_timeout,omitempty"`
}

// ConnectTimeout bounds both each TCP dial and the wait for the first
// ready connection, as the reference client does.
const ConnectTimeout = 10 * time.Second

// reconnect is the backoff between connection attempts once a connection
// broke. gRPC's default grows to two minutes, so a client could notice a
// restarted locket long after it is back; a lock holder has less than its
// TTL to refresh (see Runner). Attempts start after 100 ms and are at most
// a second (locket.SQLRetryInterval, the shortest retry interval of a locket
// client) apart, jittered so that a fleet of reps does not reconnect in
// step.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: locket.SQLRetryInterval},
	MinConnectTimeout: 20 * time.Second, // gRPC's default
}

// Conn is a connected locket client.
type Conn struct {
	locketpb.LocketClient
	cc *grpc.ClientConn
}

// Close closes the connection.
func (c *Conn) Close() error { return c.cc.Close() }

// Dial connects to cfg.LocketAddress over mutual TLS, verifying the server
// against the configured CA under the host name of the address, and waits
// until the connection is ready (at most ConnectTimeout).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	return dial(ctx, cfg, false)
}

// DialSkipVerify is Dial without verifying the server's certificate.
func DialSkipVerify(ctx context.Context, cfg Config) (*Conn, error) {
	return dial(ctx, cfg, true)
}

func dial(ctx context.Context, cfg Config, skipVerify bool) (*Conn, error) {
	if cfg.LocketAddress == "" {
		return nil, errors.New("locket client: locket_address is required")
	}
	var err error
	var creds credentials.TransportCredentials
	if skipVerify {
		c, e := tlsconfig.ClientSkipVerify(cfg.LocketClientCertFile, cfg.LocketClientKeyFile)
		err = e
		if err == nil {
			creds = credentials.NewTLS(c)
		}
	} else {
		c, e := tlsconfig.Client(tlsconfig.Files{
			CAFile:   cfg.LocketCACertFile,
			CertFile: cfg.LocketClientCertFile,
			KeyFile:  cfg.LocketClientKeyFile,
		}, "")
		err = e
		if err == nil {
			creds = credentials.NewTLS(c)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("locket client: %w", err)
	}
	cc, err := grpc.NewClient(cfg.LocketAddress,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: ConnectTimeout}
			return d.DialContext(ctx, "tcp", addr)
		}),
		grpc.WithConnectParams(reconnect),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    time.Duration(cfg.LocketClientKeepAliveTime) * time.Second,
			Timeout: time.Duration(cfg.LocketClientKeepAliveTimeout) * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("locket client: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return &Conn{LocketClient: locketpb.NewLocketClient(cc), cc: cc}, nil
		}
		if s == connectivity.Idle {
			cc.Connect()
		}
		if !cc.WaitForStateChange(waitCtx, s) {
			cc.Close()
			return nil, fmt.Errorf("locket client: connecting to %s: %w", cfg.LocketAddress, waitCtx.Err())
		}
	}
}

// ClientConn returns the underlying gRPC connection.
func (c *Conn) ClientConn() *grpc.ClientConn { return c.cc }
