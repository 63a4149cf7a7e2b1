package healthcheck

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	return port
}

func listenTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// httpServer serves handler on loopback and returns its port.
func httpServer(t *testing.T, handler http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func wantError(t *testing.T, err error, code int, pattern string) {
	t.Helper()
	var hcErr *Error
	if !errors.As(err, &hcErr) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if hcErr.Code != code {
		t.Errorf("code = %d, want %d (message %q)", hcErr.Code, code, hcErr.Message)
	}
	if !regexp.MustCompile(pattern).MatchString(hcErr.Message) {
		t.Errorf("message = %q, want match of %s", hcErr.Message, pattern)
	}
}

func TestTCPCheckPassesWhenThePortListens(t *testing.T) {
	c := NewCheck("tcp", "", listenTCP(t), time.Second)
	if err := c.Run(context.Background(), "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestTCPCheckFailsWhenNothingListens(t *testing.T) {
	port := freePort(t)
	c := NewCheck("tcp", "", port, time.Second)
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitTCPFailed, `^failed to make TCP connection to 127\.0\.0\.1:`+port+
		`: dial tcp 127\.0\.0\.1:`+port+`: connect: connection refused$`)
}

func TestTCPCheckWithABadPort(t *testing.T) {
	c := NewCheck("tcp", "", "-1", time.Second)
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitTCPFailed, `^failed to make TCP connection to 127\.0\.0\.1:-1: dial tcp: address -1: invalid port$`)
}

// stuckListener returns the port of a loopback listener whose accept queue
// is full, so that a new connection hangs until its timeout.
func stuckListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skipf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skipf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: connections succeed until it is full.
	for range 8 {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Skip("could not fill the accept queue of a loopback listener")
	return ""
}

func TestTCPCheckTimesOut(t *testing.T) {
	port := stuckListener(t)
	c := NewCheck("tcp", "", port, 150*time.Millisecond)
	start := time.Now()
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitTCPTimeout, `^failed to make TCP connection to 127\.0\.0\.1:`+port+`: timed out after 0\.15 seconds$`)
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("check took %s, want about the 150ms timeout", d)
	}
}

func TestHTTPCheckPassesOn200AndSendsTheReferenceHeaders(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	port := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	c := NewCheck("tcp", "/api/_ping", port, time.Second)
	defer c.Close()
	if err := c.Run(context.Background(), "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got == nil {
		t.Fatal("no request")
	}
	if got.Method != http.MethodGet || got.URL.Path != "/api/_ping" {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	if ua := got.Header.Get("User-Agent"); ua != "diego-healthcheck" {
		t.Errorf("User-Agent = %q", ua)
	}
	if p := got.Header.Get("X-Forwarded-Proto"); p != "https" {
		t.Errorf("X-Forwarded-Proto = %q", p)
	}
}

func TestHTTPCheckFollowsRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/old", http.RedirectHandler("/new", http.StatusFound))
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {})
	c := NewCheck("tcp", "/old", httpServer(t, mux), time.Second)
	if err := c.Run(context.Background(), "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPCheckFailsOnOtherStatuses(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusNoContent, http.StatusNotFound, http.StatusServiceUnavailable} {
		port := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		}))
		c := NewCheck("tcp", "/health", port, time.Second)
		err := c.Run(context.Background(), "127.0.0.1")
		wantError(t, err, ExitHTTPStatus, `^failed to make HTTP request to '/health' on port `+port+
			`: received status code `+strconv.Itoa(status)+` in \d+ms$`)
	}
}

func TestHTTPCheckFailsWhenNothingListens(t *testing.T) {
	port := freePort(t)
	c := NewCheck("tcp", "/health", port, time.Second)
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitHTTPFailed, `^failed to make HTTP request to '/health' on port `+port+`: connection refused$`)
}

func TestHTTPCheckTimesOutOnASlowServer(t *testing.T) {
	release := make(chan struct{})
	port := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	c := NewCheck("tcp", "/slow", port, 100*time.Millisecond)
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitHTTPTimeout, `^failed to make HTTP request to '/slow' on port `+port+`: timed out after 0\.10 seconds$`)
}

func TestHTTPCheckWithAnUnparsableURI(t *testing.T) {
	c := NewCheck("tcp", "/%zz", "8080", time.Second)
	err := c.Run(context.Background(), "127.0.0.1")
	wantError(t, err, ExitHTTPStatus, `^failed to create an HTTP request to '/%zz' on port 8080$`)
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

func ipnet(t *testing.T, cidr string) net.Addr {
	t.Helper()
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return n
}

func TestInterfaceAddressPicksTheFirstNonLoopbackIPv4(t *testing.T) {
	ifaces := []net.Interface{{Index: 1, Name: "lo"}, {Index: 2, Name: "broken"}, {Index: 3, Name: "eth0"}, {Index: 4, Name: "eth1"}}
	addrs := map[string][]net.Addr{
		"lo":   {ipnet(t, "127.0.0.1/8"), ipnet(t, "::1/128")},
		"eth0": {fakeAddr("not an ipnet"), ipnet(t, "fe80::1/64"), ipnet(t, "10.255.3.7/24"), ipnet(t, "10.255.3.8/24")},
		"eth1": {ipnet(t, "192.168.9.9/24")},
	}
	var warn strings.Builder
	pick := InterfaceAddress(ifaces, func(i net.Interface) ([]net.Addr, error) {
		if i.Name == "broken" {
			return nil, errors.New("no addresses")
		}
		return addrs[i.Name], nil
	}, &warn)
	ip, err := pick()
	if err != nil || ip != "10.255.3.7" {
		t.Fatalf("pick = %q, %v; want 10.255.3.7", ip, err)
	}
	if !strings.HasPrefix(warn.String(), "Warning: failed getting addresses for interface {2 0 broken") {
		t.Errorf("warning = %q", warn.String())
	}
}

func TestInterfaceAddressWithOnlyLoopbackFails(t *testing.T) {
	pick := InterfaceAddress([]net.Interface{{Name: "lo"}}, func(net.Interface) ([]net.Addr, error) {
		return []net.Addr{ipnet(t, "127.0.0.1/8"), ipnet(t, "::1/128"), ipnet(t, "fd00::5/64")}, nil
	}, &strings.Builder{})
	_, err := pick()
	wantError(t, err, ExitNoInterface, `^failure to find suitable interface$`)
}
