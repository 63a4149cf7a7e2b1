package healthcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/clock/fakeclock"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func loopback() (string, error) { return "127.0.0.1", nil }

// run runs the command against loopback and returns its exit code and
// stderr.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stderr syncBuffer
	code := Command{Stderr: &stderr, Address: loopback}.Run(context.Background(), "healthcheck", args)
	return code, stderr.String()
}

// statusServer answers GET /health with first for the first n requests,
// then with then; it counts the requests.
type statusServer struct {
	status   atomic.Int64
	requests atomic.Int64
	port     string
}

func newStatusServer(t *testing.T, first int, n int64, then int) *statusServer {
	s := &statusServer{}
	s.status.Store(int64(first))
	s.port = httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.requests.Add(1) > n {
			w.WriteHeader(then)
			return
		}
		w.WriteHeader(int(s.status.Load()))
	}))
	return s
}

func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-invalid_flag"}, ExitUsage, `flag provided but not defined: -invalid_flag`},
		{[]string{"-timeout=abc"}, ExitUsage, `invalid value "abc" for flag -timeout`},
		{[]string{"-port=8080", "extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"-liveness-interval=-1s"}, ExitUsage, `-liveness-interval must not be negative, got -1s`},
		{[]string{"-startup-timeout=-5s"}, ExitUsage, `-startup-timeout must not be negative`},
		{[]string{"-h"}, ExitOK, `Usage of healthcheck`},
	}
	for _, c := range cases {
		code, stderr := run(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, stderr)
		}
		if !regexp.MustCompile(regexp.QuoteMeta(c.want)).MatchString(stderr) {
			t.Errorf("%v: stderr %q, want %q", c.args, stderr, c.want)
		}
	}
}

func TestFlagDefaultsAndModes(t *testing.T) {
	o, err := ParseFlags("healthcheck", nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Network: "tcp", Port: "8080", Timeout: time.Second, StartupTimeout: time.Minute}
	if o != want {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	modes := []struct {
		args []string
		mode Mode
	}{
		{nil, Once},
		{[]string{"-startup-interval=2s", "-liveness-interval=30s"}, Startup},
		{[]string{"-liveness-interval=30s", "-readiness-interval=1s"}, Liveness},
		{[]string{"-readiness-interval=30s", "-until-ready-interval=2s"}, Readiness},
		{[]string{"-until-ready-interval=2s"}, UntilReady},
		{[]string{"-startup-interval=0s"}, Once},
	}
	for _, m := range modes {
		o, err := ParseFlags("healthcheck", m.args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.Mode() != m.mode {
			t.Errorf("%v: mode %d, want %d", m.args, o.Mode(), m.mode)
		}
	}
}

func TestOnceTCPAndHTTP(t *testing.T) {
	if code, stderr := run(t, "-port="+listenTCP(t)); code != ExitOK || stderr != "" {
		t.Errorf("tcp pass: exit %d, stderr %q", code, stderr)
	}
	port := freePort(t)
	code, stderr := run(t, "-port="+port)
	if code != ExitTCPFailed || !regexp.MustCompile(`^failed to make TCP connection to 127\.0\.0\.1:`+port+`: .*connection refused\n$`).MatchString(stderr) {
		t.Errorf("tcp fail: exit %d, stderr %q", code, stderr)
	}
	s := newStatusServer(t, http.StatusTeapot, 1, http.StatusOK)
	code, stderr = run(t, "-port="+s.port, "-uri=/health", "-timeout=500ms")
	if code != ExitHTTPStatus || !regexp.MustCompile(`^failed to make HTTP request to '/health' on port `+s.port+`: received status code 418 in \d+ms\n$`).MatchString(stderr) {
		t.Errorf("http fail: exit %d, stderr %q", code, stderr)
	}
	if code, stderr := run(t, "-port="+s.port, "-uri=/health"); code != ExitOK || stderr != "" {
		t.Errorf("http pass: exit %d, stderr %q", code, stderr)
	}
}

func TestStartupRetriesUntilTheServerAnswers200(t *testing.T) {
	s := newStatusServer(t, http.StatusInternalServerError, 3, http.StatusOK)
	code, stderr := run(t, "-port="+s.port, "-uri=/health", "-timeout=500ms", "-startup-interval=20ms", "-startup-timeout=20s")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if n := s.requests.Load(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestStartupRetriesUntilThePortListens(t *testing.T) {
	port := freePort(t)
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- Command{Stderr: &stderr, Address: loopback}.Run(context.Background(), "healthcheck",
			[]string{"-port=" + port, "-timeout=100ms", "-startup-interval=10ms", "-startup-timeout=0"})
	}()
	select {
	case code := <-done:
		t.Fatalf("exited %d before the port listened: %q", code, stderr.String())
	case <-time.After(100 * time.Millisecond):
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", port, err)
	}
	defer l.Close()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still checking 10s after the port listened")
	}
}

func TestStartupTimesOutWithTheLastError(t *testing.T) {
	s := newStatusServer(t, http.StatusInternalServerError, 1<<40, 0)
	start := time.Now()
	code, stderr := run(t, "-port="+s.port, "-uri=/health", "-timeout=500ms", "-startup-interval=20ms", "-startup-timeout=200ms")
	if code != ExitHTTPStatus {
		t.Fatalf("exit %d, want %d; stderr %q", code, ExitHTTPStatus, stderr)
	}
	want := `^Timed out after 200ms \(\d+ attempts\) waiting for startup check to succeed: ` +
		`failed to make HTTP request to '/health' on port ` + s.port + `: received status code 500 in \d+ms\n$`
	if !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("stderr %q, want match of %s", stderr, want)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %s, want about 200ms", d)
	}
}

// scripted is an attempt function whose results the test sets; each call
// is announced on calls.
type scripted struct {
	mu      sync.Mutex
	results []error
	calls   chan int
	n       int
}

func newScripted(results ...error) *scripted {
	return &scripted{results: results, calls: make(chan int, 100)}
}

func (s *scripted) attempt() error {
	s.mu.Lock()
	s.n++
	n := s.n
	var err error
	if n <= len(s.results) {
		err = s.results[n-1]
	} else {
		err = s.results[len(s.results)-1]
	}
	s.mu.Unlock()
	s.calls <- n
	return err
}

func (s *scripted) waitCall(t *testing.T, n int) {
	t.Helper()
	select {
	case got := <-s.calls:
		if got != n {
			t.Fatalf("attempt %d, want %d", got, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("attempt %d did not come", n)
	}
}

func (s *scripted) noCall(t *testing.T) {
	t.Helper()
	select {
	case n := <-s.calls:
		t.Fatalf("unexpected attempt %d", n)
	case <-time.After(20 * time.Millisecond):
	}
}

var refused = &Error{Code: ExitTCPFailed, Message: "failed to make TCP connection to 10.0.0.1:8080: refused"}

func TestStartupCountsAttemptsOnTheClock(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var stderr syncBuffer
	script := newScripted(refused)
	r := runner{stderr: &stderr, clock: clk, attempt: script.attempt}
	done := make(chan int, 1)
	go func() { done <- r.startup(context.Background(), 2*time.Second, 5*time.Second) }()

	script.waitCall(t, 1)
	clk.Increment(time.Second)
	script.noCall(t) // the interval has not passed
	clk.Increment(time.Second)
	script.waitCall(t, 2)
	clk.Increment(2 * time.Second)
	script.waitCall(t, 3)
	clk.Increment(time.Second) // t = 5s: the startup timeout
	select {
	case code := <-done:
		if code != ExitTCPFailed {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not time out")
	}
	want := "Timed out after 5s (3 attempts) waiting for startup check to succeed: " + refused.Message + "\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestStartupWithoutTimeoutKeepsTrying(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var stderr syncBuffer
	script := newScripted(refused, refused, refused, nil)
	r := runner{stderr: &stderr, clock: clk, attempt: script.attempt}
	done := make(chan int, 1)
	go func() { done <- r.startup(context.Background(), time.Hour, 0) }()
	for n := 1; n <= 4; n++ {
		script.waitCall(t, n)
		if n < 4 {
			clk.Increment(time.Hour)
		}
	}
	if code := <-done; code != ExitOK || stderr.String() != "" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestStartupTimeoutDuringTheFirstAttemptWaitsForIt(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var stderr syncBuffer
	release := make(chan struct{})
	attempts := 0
	r := runner{stderr: &stderr, clock: clk, attempt: func() error {
		attempts++
		<-release
		return refused
	}}
	done := make(chan int, 1)
	go func() { done <- r.startup(context.Background(), 2*time.Second, time.Second) }()
	if !clk.WaitForWatchers(2, 5*time.Second) {
		t.Fatal("no timer")
	}
	clk.Increment(time.Second)
	select {
	case code := <-done:
		t.Fatalf("exited %d while the first attempt ran", code)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if code := <-done; code != ExitTCPFailed {
		t.Errorf("exit %d", code)
	}
	if want := "Timed out after 1s (1 attempts) waiting for startup check to succeed: " + refused.Message + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestLivenessChecksAtEveryIntervalUntilAFailure(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var stderr syncBuffer
	script := newScripted(nil, nil, nil, refused)
	r := runner{stderr: &stderr, clock: clk, attempt: script.attempt}
	done := make(chan int, 1)
	go func() { done <- r.run(context.Background(), Options{LivenessInterval: 30 * time.Second}) }()
	script.waitCall(t, 1)
	for n := 2; n <= 4; n++ {
		if !clk.WaitForWatchers(1, 5*time.Second) {
			t.Fatal("not sleeping")
		}
		clk.Increment(29 * time.Second)
		script.noCall(t)
		clk.Increment(time.Second)
		script.waitCall(t, n)
	}
	if code := <-done; code != ExitTCPFailed {
		t.Errorf("exit %d", code)
	}
	if want := "Liveness check unsuccessful: " + refused.Message + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestLivenessAndReadinessAgainstARealServer(t *testing.T) {
	for _, mode := range []struct{ flag, prefix string }{
		{"-liveness-interval=10ms", "Liveness check unsuccessful: "},
		{"-readiness-interval=10ms", "Readiness check unsuccessful: "},
	} {
		s := newStatusServer(t, http.StatusOK, 5, http.StatusInternalServerError)
		code, stderr := run(t, "-port="+s.port, "-uri=/health", "-timeout=500ms", mode.flag)
		if code != ExitHTTPStatus {
			t.Errorf("%s: exit %d, stderr %q", mode.flag, code, stderr)
		}
		want := "^" + regexp.QuoteMeta(mode.prefix) + `failed to make HTTP request to '/health' on port ` + s.port + `: received status code 500 in \d+ms\n$`
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("%s: stderr %q, want match of %s", mode.flag, stderr, want)
		}
		if n := s.requests.Load(); n != 6 {
			t.Errorf("%s: %d requests, want 6", mode.flag, n)
		}
	}
}

func TestLivenessNoticesAClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
			if accepted.Add(1) == 3 {
				_ = l.Close()
			}
		}
	}()
	code, stderr := run(t, "-port="+port, "-timeout=500ms", "-liveness-interval=10ms")
	want := `^Liveness check unsuccessful: failed to make TCP connection to 127\.0\.0\.1:` + port + `: .*connection refused\n$`
	if code != ExitTCPFailed || !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if accepted.Load() < 3 {
		t.Errorf("%d checks passed before the failure, want 3", accepted.Load())
	}
}

func TestUntilReadyWaitsQuietlyForA200(t *testing.T) {
	s := newStatusServer(t, http.StatusServiceUnavailable, 3, http.StatusOK)
	code, stderr := run(t, "-port="+s.port, "-uri=/health", "-timeout=500ms", "-until-ready-interval=10ms")
	if code != ExitOK || stderr != "" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if n := s.requests.Load(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestUnknownErrorsAndCancellation(t *testing.T) {
	var stderr syncBuffer
	code := Command{Stderr: &stderr, Address: func() (string, error) { return "", errors.New("boom") }}.
		Run(context.Background(), "healthcheck", nil)
	if code != ExitUnknownError || stderr.String() != "Unknown error encountered in healthcheck: boom\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	stderr = syncBuffer{}
	done := make(chan int, 1)
	port := listenTCP(t)
	go func() {
		done <- Command{Stderr: &stderr, Address: loopback}.Run(ctx, "healthcheck", []string{"-port=" + port, "-liveness-interval=1h"})
	}()
	cancel()
	select {
	case code := <-done:
		if code != ExitUnknownError || stderr.String() != "Unknown error encountered in healthcheck: context canceled\n" {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end the liveness loop")
	}
}

func TestExternalPortMapsTheContainerPort(t *testing.T) {
	port := listenTCP(t)
	mapping := fmt.Sprintf(`[{"external":%s,"internal":8080},{"external":1,"internal":9090}]`, port)
	if got := ExternalPort(mapping)("8080"); got != port {
		t.Errorf("8080 -> %s, want %s", got, port)
	}
	if got := ExternalPort(mapping)("7070"); got != "7070" {
		t.Errorf("unmapped 7070 -> %s", got)
	}
	if got := ExternalPort("not json")("8080"); got != "8080" {
		t.Errorf("bad JSON 8080 -> %s", got)
	}
	var stderr syncBuffer
	code := Command{Stderr: &stderr, Address: loopback, MapPort: ExternalPort(mapping)}.
		Run(context.Background(), "healthcheck", []string{"-port=8080"})
	if code != ExitOK {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
