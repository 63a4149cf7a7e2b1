// Package healthcheck is the logic of the healthcheck binary that the
// executor runs inside a container (as a sidecar process) to decide whether
// the app started, is alive, or is ready for traffic (reference: the
// cloudfoundry/healthcheck lifecycle binary, shared/reference
// auction-rep-executor.md §4.6).
//
// A check connects to one address: the first non-loopback IPv4 address of
// the container's interfaces. Without -uri it is a TCP check (the connection
// opens); with -uri it is an HTTP check (GET answers 200). A failure is an
// *Error carrying the exit code and the message the binary prints on
// stderr; the executor turns that message into the crash reason, so the
// codes and texts are the reference's.
package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Exit codes of the healthcheck binary, as in the reference.
const (
	ExitOK           = 0
	ExitInterfaces   = 1   // the interfaces could not be listed
	ExitUsage        = 2   // bad command line
	ExitNoInterface  = 3   // no non-loopback IPv4 address
	ExitTCPFailed    = 4   // the TCP connection failed
	ExitHTTPFailed   = 5   // the HTTP request could not be made
	ExitHTTPStatus   = 6   // the HTTP answer was not 200 (or the request was malformed)
	ExitTCPTimeout   = 64  // the TCP connection timed out
	ExitHTTPTimeout  = 65  // the HTTP request timed out
	ExitUnknownError = 127 // an error that is not an *Error
)

// Error is a failed check: the binary prints Message on stderr and exits
// with Code.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Check is one check of one address.
type Check struct {
	// Network is the dial network of the TCP check ("tcp", "unix", ...).
	Network string
	// URI, if set, makes the check an HTTP GET of http://<ip>:<port><URI>.
	URI string
	// Port is the port to check, as given on the command line.
	Port string
	// Timeout bounds one attempt (the dial, or the whole HTTP request).
	Timeout time.Duration

	client *http.Client
}

// NewCheck returns a check; the HTTP check keeps its connections between
// attempts.
func NewCheck(network, uri, port string, timeout time.Duration) *Check {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &Check{
		Network: network,
		URI:     uri,
		Port:    port,
		Timeout: timeout,
		client:  &http.Client{Timeout: timeout, Transport: transport},
	}
}

// Run checks ip: a TCP check without URI, an HTTP check with one.
func (c *Check) Run(ctx context.Context, ip string) error {
	if c.URI == "" {
		return c.TCP(ctx, ip)
	}
	return c.HTTP(ctx, ip)
}

// TCP connects to ip:port and closes the connection at once.
func (c *Check) TCP(ctx context.Context, ip string) error {
	addr := ip + ":" + c.Port
	d := net.Dialer{Timeout: c.Timeout}
	conn, err := d.DialContext(ctx, c.Network, addr)
	if err == nil {
		_ = conn.Close() // connecting was the check
		return nil
	}
	if isTimeout(err) {
		return &Error{Code: ExitTCPTimeout, Message: fmt.Sprintf(
			"failed to make TCP connection to %s: timed out after %.2f seconds", addr, c.Timeout.Seconds())}
	}
	return &Error{Code: ExitTCPFailed, Message: fmt.Sprintf(
		"failed to make TCP connection to %s: %s", addr, err.Error())}
}

// HTTP GETs http://ip:port/uri and wants a 200 (redirects are followed).
func (c *Check) HTTP(ctx context.Context, ip string) error {
	client := c.client
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	url := fmt.Sprintf("http://%s:%s%s", ip, c.Port, c.URI)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &Error{Code: ExitHTTPStatus, Message: fmt.Sprintf(
			"failed to create an HTTP request to '%s' on port %s", c.URI, c.Port)}
	}
	req.Header.Set("User-Agent", "diego-healthcheck")
	req.Header.Set("X-Forwarded-Proto", "https")

	start := time.Now()
	resp, err := client.Do(req)
	elapsed := time.Since(start)
	if err != nil {
		if isTimeout(err) {
			return &Error{Code: ExitHTTPTimeout, Message: fmt.Sprintf(
				"failed to make HTTP request to '%s' on port %s: timed out after %.2f seconds",
				c.URI, c.Port, c.Timeout.Seconds())}
		}
		// The reference says "connection refused" whatever the cause.
		return &Error{Code: ExitHTTPFailed, Message: fmt.Sprintf(
			"failed to make HTTP request to '%s' on port %s: connection refused", c.URI, c.Port)}
	}
	// Read the body so that the server does not see a broken request.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &Error{Code: ExitHTTPStatus, Message: fmt.Sprintf(
		"failed to make HTTP request to '%s' on port %s: received status code %d in %dms",
		c.URI, c.Port, resp.StatusCode, elapsed.Milliseconds())}
}

// Close drops the kept HTTP connections.
func (c *Check) Close() {
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// InterfaceAddress returns a function that picks the address to check, as
// the reference does at every attempt: the first IPv4 address that is not a
// loopback address, in the order of ifaces and of their addresses. An
// interface whose addresses cannot be read is skipped with a warning on
// warn. addrs reads an interface's addresses ((*net.Interface).Addrs if
// nil).
func InterfaceAddress(ifaces []net.Interface, addrs func(net.Interface) ([]net.Addr, error), warn io.Writer) func() (string, error) {
	if addrs == nil {
		addrs = func(i net.Interface) ([]net.Addr, error) { return i.Addrs() }
	}
	return func() (string, error) {
		for _, iface := range ifaces {
			list, err := addrs(iface)
			if err != nil {
				fmt.Fprintf(warn, "Warning: failed getting addresses for interface %v\n", iface)
				continue
			}
			for _, a := range list {
				ipnet, ok := a.(*net.IPNet)
				if ok && !ipnet.IP.IsLoopback() && ipnet.IP.To4() != nil {
					return ipnet.IP.String(), nil
				}
			}
		}
		return "", &Error{Code: ExitNoInterface, Message: "failure to find suitable interface"}
	}
}
