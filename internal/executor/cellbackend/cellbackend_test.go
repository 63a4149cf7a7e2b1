package cellbackend_test

// The executor on a real cell: a private containerd, a CNI network on a
// bridge of the test's own with host ports on 127.0.0.1, the healthcheck
// binary mounted in every container.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/cellbackend"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
	"github.com/diego-go/diego/internal/executor/logs"
	"github.com/diego-go/diego/internal/executor/network"
	"github.com/diego-go/diego/internal/executor/network/nettest"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

func TestMain(m *testing.M) { os.Exit(nettest.Main(m)) }

type cell struct {
	t    *testing.T
	env  *containerdtest.Env
	net  *network.Manager
	ex   *executor.Executor
	sink *logs.MemorySink

	mu     sync.Mutex
	events map[string][]executor.Event
	wake   chan struct{}
}

func testLogger() lager.Logger {
	l := lager.NewLogger("test")
	if testing.Verbose() {
		l.RegisterSink(lager.NewWriterSink(os.Stderr, lager.INFO))
	}
	return l
}

// newCell makes an executor on a private containerd and a network of its
// own; when t ends every container is deleted and the cell checked empty.
func newCell(t *testing.T, mutate func(*containerd.Config)) *cell {
	t.Helper()
	nettest.RequireHostNetworking(t, network.DefaultPluginDirs)
	env := containerdtest.NewBackend(t, "diego-exec-test", func(cfg *containerd.Config, _ string) {
		if mutate != nil {
			mutate(cfg)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	suffix := nettest.RandomHex(3)
	start := uint16(30000 + nettest.RandomInt(20000))
	nm, err := network.New(ctx, network.Config{
		BridgeName:     nettest.BridgePrefix + suffix,
		Subnet:         nettest.FreeSubnet(t).String(),
		HostIP:         "127.0.0.1",
		PortRangeStart: start,
		PortRangeEnd:   start + 199,
		StateDir:       t.TempDir(),
		ChainPrefix:    nettest.BridgePrefix + suffix,
	}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nm.Destroy(context.Background()); err != nil {
			t.Errorf("destroying the network: %v", err)
		}
	})
	hcDir := t.TempDir()
	bin, err := os.ReadFile(containerdtest.BuildHealthcheck(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hcDir, "healthcheck"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	be, err := cellbackend.New(cellbackend.Config{
		Containerd: env.Backend, Network: nm, HealthCheckDir: hcDir,
		MemoryMB: 8192, DiskMB: 16384, MaxContainers: 100, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := steps.NewTransformer(steps.Config{GracefulShutdownInterval: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sink := &logs.MemorySink{}
	ex, err := executor.New(ctx, executor.Config{CellID: "cell-test", Backend: be, Transformer: tr, LogSink: sink, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c := &cell{t: t, env: env, net: nm, ex: ex, sink: sink, events: map[string][]executor.Event{}, wake: make(chan struct{}, 1)}
	sub := ex.Subscribe()
	go func() {
		for {
			e, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			c.mu.Lock()
			c.events[e.Container.Guid] = append(c.events[e.Container.Guid], e)
			c.mu.Unlock()
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		c.deleteAll()
		ex.Close()
		env.AssertEmpty(t)
		if left, err := nm.Leftovers(); err != nil || len(left) > 0 {
			t.Errorf("network left %q (%v)", left, err)
		}
	})
	return c
}

func (c *cell) deleteAll() {
	var wg sync.WaitGroup
	for _, ctr := range c.ex.ListContainers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.ex.DeleteContainer(ctx, ctr.Guid); err != nil {
				c.t.Errorf("delete %s: %v", ctr.Guid, err)
			}
		}()
	}
	wg.Wait()
}

// waitFor returns the first event of guid of type typ, failing t after d.
func (c *cell) waitFor(guid string, typ executor.EventType, d time.Duration) executor.Container {
	c.t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		for _, e := range c.events[guid] {
			if e.Type == typ {
				c.mu.Unlock()
				return e.Container
			}
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("no %s event of %s within %v; events: %+v", typ, guid, d, c.eventsOf(guid))
		}
	}
}

func (c *cell) eventsOf(guid string) []executor.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events[guid])
}

func (c *cell) start(guid string, res executor.Resource, info executor.RunInfo) {
	c.t.Helper()
	if failed := c.ex.Allocate([]executor.AllocationRequest{{Guid: guid, Resource: res}}); len(failed) > 0 {
		c.t.Fatalf("allocate %s: %v", guid, failed[0])
	}
	if info.RootFSPath == "" {
		info.RootFSPath = containerdtest.BusyboxStack
	}
	if info.LogConfig.Guid == "" {
		info.LogConfig = executor.LogConfig{Guid: "log-" + guid, SourceName: "APP/PROC/WEB"}
		info.LogRateLimitBytesPerSecond = logs.Unlimited
	}
	if err := c.ex.RunContainer(executor.RunRequest{Guid: guid, RunInfo: info}); err != nil {
		c.t.Fatalf("run %s: %v", guid, err)
	}
}

func sh(script string) *models.Action {
	return &models.Action{RunAction: &models.RunAction{Path: "/bin/sh", Args: []string{"-c", script}, User: "vcap"}}
}

func TestAWebServerAnswersOnItsHostPort(t *testing.T) {
	c := newCell(t, nil)
	c.start("web-0", executor.Resource{MemoryMB: 64, DiskMB: 64, MaxPids: 64}, executor.RunInfo{
		Ports: []uint32{8080},
		Env:   []string{"GREETING=hello from the container"},
		Action: sh(`mkdir -p /tmp/www && echo "$GREETING" > /tmp/www/index.html && env > /tmp/www/env.txt &&
			exec httpd -f -p 8080 -h /tmp/www`),
		CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080, Path: "/"}}}},
		StartTimeoutMs:  30000,
	})
	running := c.waitFor("web-0", executor.EventContainerRunning, 60*time.Second)
	if len(running.Ports) != 1 || running.Ports[0].ContainerPort != 8080 || running.Ports[0].HostPort == 0 || running.ExternalIP != "127.0.0.1" || running.InternalIP == "" {
		t.Fatalf("running %+v", running)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", running.Ports[0].HostPort)
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	if body := get("/"); body != "hello from the container\n" {
		t.Fatalf("body %q", body)
	}
	env := get("/env.txt")
	for _, want := range []string{"CF_INSTANCE_ADDR=" + addr, "CF_INSTANCE_INTERNAL_IP=" + running.InternalIP, "CF_INSTANCE_IP=127.0.0.1", "GREETING=hello from the container"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	msgs := strings.Join(c.sink.Messages(), "\n")
	for _, want := range []string{"Cell cell-test successfully created container for instance web-0", "Container became healthy"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("log lacks %q:\n%s", want, msgs)
		}
	}
	if err := c.ex.StopContainer("web-0"); err != nil {
		t.Fatal(err)
	}
	if done := c.waitFor("web-0", executor.EventContainerComplete, 30*time.Second); !done.RunResult.Stopped {
		t.Fatalf("%+v", done.RunResult)
	}
}

func TestFailuresAreReportedWithTheirReasons(t *testing.T) {
	c := newCell(t, func(cfg *containerd.Config) { cfg.DiskCheckInterval = 100 * time.Millisecond })
	small := executor.Resource{MemoryMB: 32, DiskMB: 8, MaxPids: 64}
	cases := []struct {
		guid   string
		info   executor.RunInfo
		reason func(string) bool
	}{
		{"crash", executor.RunInfo{Action: sh("echo bye; exit 3")},
			func(r string) bool { return r == "APP/PROC/WEB: Exited with status 3" }},
		{"oom", executor.RunInfo{Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/dd", Args: []string{"if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}, User: "vcap"}}},
			func(r string) bool { return r == "APP/PROC/WEB: Exited with status 137 (out of memory)" }},
		{"timeout", executor.RunInfo{Action: &models.Action{TimeoutAction: &models.TimeoutAction{Action: sh("exec sleep 30"), TimeoutMs: 300}}},
			func(r string) bool { return strings.HasPrefix(r, "exceeded 300ms timeout") }},
		{"unhealthy", executor.RunInfo{Action: sh("exec sleep 30"), StartTimeoutMs: 1000,
			CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}}},
			func(r string) bool {
				return strings.HasPrefix(r, "Instance never healthy after ") && strings.Contains(r, "failed to make TCP connection")
			}},
		{"disk", executor.RunInfo{Action: sh("dd if=/dev/zero of=/tmp/big bs=1M count=32; exec sleep 30")},
			func(r string) bool { return strings.HasPrefix(r, "disk quota exceeded: container wrote ") }},
	}
	for _, tc := range cases {
		c.start(tc.guid, small, tc.info)
	}
	for _, tc := range cases {
		done := c.waitFor(tc.guid, executor.EventContainerComplete, 60*time.Second)
		if !done.RunResult.Failed || !tc.reason(done.RunResult.FailureReason) || done.RunResult.Retryable {
			t.Errorf("%s: %+v", tc.guid, done.RunResult)
		}
	}
	if !strings.Contains(strings.Join(c.sink.Messages(), "\n"), "bye") {
		t.Errorf("the crashing process's output was not logged: %q", c.sink.Messages())
	}
}

func TestABadRootFSFailsTheCreationRetryably(t *testing.T) {
	c := newCell(t, nil)
	c.start("nostack", executor.Resource{MemoryMB: 16}, executor.RunInfo{RootFSPath: "preloaded:nope", Action: sh("true"), Ports: []uint32{8080}})
	done := c.waitFor("nostack", executor.EventContainerComplete, 30*time.Second)
	if !done.RunResult.Failed || !done.RunResult.Retryable || !strings.HasPrefix(done.RunResult.FailureReason, "failed to create container: ") {
		t.Fatalf("%+v", done.RunResult)
	}
}

func TestFiftyContainersComeAndGoWithoutLeaks(t *testing.T) {
	c := newCell(t, nil)
	const n = 50
	start := time.Now()
	for i := range n {
		c.start(fmt.Sprintf("churn-%02d", i), executor.Resource{MemoryMB: 32, DiskMB: 32, MaxPids: 32}, executor.RunInfo{
			Ports: []uint32{8080}, Action: sh("exec sleep 1000"),
		})
	}
	for i := range n {
		c.waitFor(fmt.Sprintf("churn-%02d", i), executor.EventContainerRunning, 120*time.Second)
	}
	filled := time.Since(start)
	if ids, err := c.env.Backend.List(context.Background()); err != nil || len(ids) != n {
		t.Fatalf("%d containers in containerd (%v), want %d", len(ids), err, n)
	}
	if left, _ := c.net.Leftovers(); len(left) < n {
		t.Fatalf("only %d network objects while %d containers run", len(left), n)
	}
	delStart := time.Now()
	c.deleteAll()
	t.Logf("%d containers: all running after %v, all deleted in %v", n, filled, time.Since(delStart))
	if got := c.ex.RemainingResources(); got != c.ex.TotalResources() {
		t.Fatalf("remaining %+v, total %+v", got, c.ex.TotalResources())
	}
}
