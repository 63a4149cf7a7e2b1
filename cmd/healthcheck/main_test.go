package main_test

import (
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var healthcheckBin string

// In the helper mode the test binary runs in a network namespace of its
// own (see inNetns).
const helperEnv = "HEALTHCHECK_TEST_NETNS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(netnsHelper())
	}
	dir, err := os.MkdirTemp("", "healthcheck-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	healthcheckBin = filepath.Join(dir, "healthcheck")
	build := exec.Command("go", "build", "-o", healthcheckBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building healthcheck:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBin runs the binary with args and returns its exit code and stderr.
func runBin(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(healthcheckBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestFlagErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"-invalid_flag"}, {"-timeout", "soon"}, {"-port=1", "positional"}} {
		code, stderr := runBin(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if !strings.Contains(stderr, "Usage of") && !strings.Contains(stderr, "unexpected argument") {
			t.Errorf("%v: stderr %q", args, stderr)
		}
	}
	if code, stderr := runBin(t, "-h"); code != 0 || !strings.Contains(stderr, "-startup-interval") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
}

func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(healthcheckBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a dynamic loader (PT_INTERP)")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
}

// inNetns runs the binary with args in a new network namespace whose only
// interface is lo; with addr set, lo also carries addr/32 (a non-loopback
// address, which the check picks) and an HTTP server listens on addr:8080
// (/health answers 200 from the request number HEALTHY_AFTER on, /bad 500).
// All traffic stays on that namespace's loopback device.
func inNetns(t *testing.T, addr string, healthyAfter int, args ...string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperEnv+"=1",
		"HELPER_BIN="+healthcheckBin,
		"HELPER_ADDR="+addr,
		fmt.Sprintf("HELPER_HEALTHY_AFTER=%d", healthyAfter),
		"HELPER_ARGS="+strings.Join(args, "\x1f"),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot start a process in a new network namespace: %v", err)
	}
	out := stderr.String()
	if strings.HasPrefix(out, "helper:") {
		t.Skipf("netns helper: %s", out)
	}
	return cmd.ProcessState.ExitCode(), out
}

// netnsHelper sets up the namespace, serves, runs the binary and exits with
// its code. Setup failures print "helper: ..." and exit 125.
func netnsHelper() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "helper: %v\n", err)
		return 125
	}
	ipCmd := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := ipCmd("link", "set", "lo", "up"); err != nil {
		return fail(err)
	}
	if addr := os.Getenv("HELPER_ADDR"); addr != "" {
		if err := ipCmd("addr", "add", addr+"/32", "dev", "lo"); err != nil {
			return fail(err)
		}
		l, err := net.Listen("tcp", addr+":8080")
		if err != nil {
			return fail(err)
		}
		var healthyAfter int64
		fmt.Sscan(os.Getenv("HELPER_HEALTHY_AFTER"), &healthyAfter)
		var requests atomic.Int64
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) < healthyAfter {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		})
		go func() { _ = http.Serve(l, mux) }()
	}
	var args []string
	if a := os.Getenv("HELPER_ARGS"); a != "" {
		args = strings.Split(a, "\x1f")
	}
	cmd := exec.Command(os.Getenv("HELPER_BIN"), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fail(err)
	}
	return cmd.ProcessState.ExitCode()
}

func TestOnlyLoopbackMeansNoSuitableInterface(t *testing.T) {
	code, stderr := inNetns(t, "", 0, "-port=8080")
	if code != 3 || stderr != "failure to find suitable interface\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestChecksTheContainerAddress(t *testing.T) {
	const addr = "10.255.0.1"
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tcp on the default port 8080", nil, 0, `^$`},
		{"http 200", []string{"-uri=/health"}, 0, `^$`},
		{"http 500", []string{"-uri=/bad"}, 6,
			`^failed to make HTTP request to '/bad' on port 8080: received status code 500 in \d+ms\n$`},
		{"tcp refused", []string{"-port=8081"}, 4,
			`^failed to make TCP connection to 10\.255\.0\.1:8081: dial tcp 10\.255\.0\.1:8081: connect: connection refused\n$`},
		{"http refused", []string{"-port=8081", "-uri=/health"}, 5,
			`^failed to make HTTP request to '/health' on port 8081: connection refused\n$`},
		{"liveness", []string{"-uri=/bad", "-liveness-interval=10ms"}, 6,
			`^Liveness check unsuccessful: failed to make HTTP request to '/bad' on port 8080: received status code 500 in \d+ms\n$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := inNetns(t, addr, 0, c.args...)
			if code != c.code || !regexp.MustCompile(c.want).MatchString(stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr like %s", code, stderr, c.code, c.want)
			}
		})
	}
}

func TestStartupModeInTheContainer(t *testing.T) {
	start := time.Now()
	code, stderr := inNetns(t, "10.255.0.1", 4, "-uri=/health", "-startup-interval=20ms", "-startup-timeout=30s")
	if code != 0 || stderr != "" {
		t.Errorf("healthy after 4 requests: exit %d, stderr %q", code, stderr)
	}
	t.Logf("startup passed after %s", time.Since(start))
	code, stderr = inNetns(t, "10.255.0.1", 1<<30, "-uri=/health", "-startup-interval=20ms", "-startup-timeout=150ms")
	want := `^Timed out after 150ms \(\d+ attempts\) waiting for startup check to succeed: ` +
		`failed to make HTTP request to '/health' on port 8080: received status code 503 in \d+ms\n$`
	if code != 6 || !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("never healthy: exit %d, stderr %q", code, stderr)
	}
}
