package steps_test

// Step trees on a real containerd (a private one per test, busybox stack),
// with real downloads and uploads over loopback and the real healthcheck
// binary.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/diego-go/diego/internal/executor/cache"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

// realEnv is a private containerd with a busybox stack holding the
// healthcheck binary.
type realEnv struct {
	b *containerd.Backend
}

func newRealEnv(t *testing.T) *realEnv {
	t.Helper()
	bin, err := os.ReadFile(containerdtest.BuildHealthcheck(t))
	must(t, err)
	env := containerdtest.NewBackend(t, "diego-steps-test", func(_ *containerd.Config, root string) {
		// The healthcheck binary where the executor mounts it.
		must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(steps.DefaultHealthCheckPath)), 0o755))
		must(t, os.WriteFile(filepath.Join(root, steps.DefaultHealthCheckPath), bin, 0o755))
	})
	return &realEnv{b: env.Backend}
}

func (e *realEnv) create(t *testing.T, spec containerd.ContainerSpec) *containerd.Container {
	t.Helper()
	if spec.ID == "" {
		spec.ID = "steps-" + randomSuffix()
	}
	spec.RootFS = "preloaded:busybox"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := e.b.Create(ctx, spec)
	must(t, err)
	t.Cleanup(func() { _ = e.b.Delete(context.Background(), spec.ID) })
	return c
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// psArgs lists the command lines of the processes in c other than its init.
func psArgs(t *testing.T, c *containerd.Container) []string {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/ps", Args: []string{"-o", "args"}, Output: func(_ containerd.Stream, l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	}})
	must(t, err)
	_, err = p.Wait(ctx)
	must(t, err)
	return lines
}

// exists reports whether path exists in c.
func exists(t *testing.T, c *containerd.Container, path string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", `test -e "$0"`, path}})
	must(t, err)
	st, err := p.Wait(ctx)
	must(t, err)
	return st.Code == 0
}

func buildTree(t *testing.T, tr *steps.Transformer, c *containerd.Container, log steps.Logger, info steps.RunInfo) steps.Step {
	t.Helper()
	tree, err := tr.Build(steps.FromContainerd(c), log, info)
	must(t, err)
	return tree.Step
}

func sh(script string) *models.Action {
	return &models.Action{RunAction: &models.RunAction{Path: "/bin/sh", Args: []string{"-c", script}}}
}

func TestRealRunAndTimeoutAndCancel(t *testing.T) {
	e := newRealEnv(t)
	tr := newTransformer(t, steps.Config{GracefulShutdownInterval: 300 * time.Millisecond})

	t.Run("run with env, dir and user", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		nofile := uint64(321)
		action := &models.Action{RunAction: &models.RunAction{
			Path: "/bin/sh", Args: []string{"-c", `echo "$GREETING $CF_INSTANCE_IP"; pwd; id -u; ulimit -n; echo oops >&2; exit 3`},
			Dir: "/tmp", User: "vcap", LogSource: "APP/PROC/WEB",
			Env:            []*models.EnvironmentVariable{{Name: "GREETING", Value: "hello"}},
			ResourceLimits: &models.ResourceLimits{Nofile: &nofile},
		}}
		step := buildTree(t, tr, c, log, steps.RunInfo{Action: action, Env: []string{"CF_INSTANCE_IP=10.1.2.3"}})
		r := start(context.Background(), step)
		err := r.wait(t)
		if err == nil || err.Error() != "APP/PROC/WEB: Exited with status 3" {
			t.Fatalf("Run = %v", err)
		}
		if !r.isReady() {
			t.Error("never ready")
		}
		want := []string{
			"APP/PROC/WEB|stdout|hello 10.1.2.3", "APP/PROC/WEB|stdout|/tmp", "APP/PROC/WEB|stdout|2000",
			"APP/PROC/WEB|stdout|321", "APP/PROC/WEB|stderr|oops", "APP/PROC/WEB|stdout|Exit status 3",
		}
		for _, l := range want {
			if !log.has(l) {
				t.Errorf("missing %q in %q", l, log.get())
			}
		}
	})

	t.Run("timeout fires", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		action := &models.Action{TimeoutAction: &models.TimeoutAction{TimeoutMs: 500, Action: sh("echo started; exec sleep 1000")}}
		began := time.Now()
		err := buildTree(t, tr, c, log, steps.RunInfo{Action: action}).Run(context.Background(), steps.NoReady)
		took := time.Since(began)
		if err == nil || err.Error() != "exceeded 500ms timeout" {
			t.Fatalf("Run = %v", err)
		}
		if took < 500*time.Millisecond || took > 5*time.Second {
			t.Errorf("took %s", took)
		}
		if !log.has("|stdout|started") || !log.has("|stdout|Exit status 143") {
			t.Errorf("lines = %q", log.get())
		}
		for _, l := range psArgs(t, c) {
			if strings.Contains(l, "sleep 1000") {
				t.Errorf("still running: %q", l)
			}
		}
	})

	t.Run("cancel kills what ignores SIGTERM", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		// A parent ignoring TERM with a child: both must go.
		action := &models.Action{ParallelAction: &models.ParallelAction{Actions: []*models.Action{
			sh(`trap "" TERM; sleep 1001 & echo up; wait`),
			sh(`exec sleep 1002`),
		}}}
		ctx, cancel := context.WithCancel(context.Background())
		r := start(ctx, buildTree(t, tr, c, log, steps.RunInfo{Action: action}))
		waitFor(t, "ready", r.isReady)
		waitFor(t, "up", func() bool { return log.has("|stdout|up") })
		cancel()
		err := r.wait(t)
		if !steps.IsCancelled(err) || err.Error() != "" {
			t.Fatalf("Run = %#v", err)
		}
		if !log.has("|stdout|Exit status 143") || !log.has("|stdout|Exit status 137 (exceeded 300ms graceful shutdown interval)") {
			t.Errorf("lines = %q", log.get())
		}
		for _, l := range psArgs(t, c) {
			if strings.Contains(l, "sleep 100") {
				t.Errorf("still running: %q", l)
			}
		}
	})
}

// blobServer serves files over loopback and keeps what is uploaded.
type blobServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	uploaded map[string][]byte
}

func newBlobServer(t *testing.T) *blobServer {
	s := &blobServer{files: map[string][]byte{}, uploaded: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			s.uploaded[r.URL.Path] = b
			w.WriteHeader(http.StatusCreated)
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sha256.Sum256(b)))
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func tgz(t *testing.T, files ...string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i := 0; i+1 < len(files); i += 2 {
		must(t, tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}))
		_, _ = io.WriteString(tw, files[i+1])
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func TestRealDownloadAndUpload(t *testing.T) {
	e := newRealEnv(t)
	srv := newBlobServer(t)
	droplet := tgz(t, "hello.txt", "hello from the droplet", "bin/start", "#!/bin/sh\necho started")
	srv.files["/droplet.tgz"] = droplet
	sum := sha256.Sum256(droplet)
	dl, err := cache.New(cache.Config{Dir: t.TempDir(), MaxSizeBytes: 1 << 20})
	must(t, err)
	tr := newTransformer(t, steps.Config{
		Downloader: dl, Uploader: steps.NewHTTPUploader(time.Minute, nil, nil), TempDir: t.TempDir(),
		GracefulShutdownInterval: 300 * time.Millisecond,
	})
	download := func(checksum string) *models.Action {
		return &models.Action{DownloadAction: &models.DownloadAction{
			Artifact: "droplet", From: srv.URL + "/droplet.tgz", To: "/home/vcap/app", CacheKey: "droplets/abc",
			User: "vcap", ChecksumAlgorithm: "sha256", ChecksumValue: checksum,
		}}
	}

	t.Run("a tgz lands in the container", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		action := &models.Action{RunAction: &models.RunAction{
			Path: "/bin/sh", User: "vcap",
			Args: []string{"-c", "cat /home/vcap/app/hello.txt; echo; stat -c '%U %a' /home/vcap/app/hello.txt /home/vcap/app/bin"},
		}}
		step := buildTree(t, tr, c, log, steps.RunInfo{Setup: download(hex.EncodeToString(sum[:])), Action: action})
		must(t, step.Run(context.Background(), steps.NoReady))
		for _, l := range []string{
			"|stdout|Downloading droplet...", fmt.Sprintf("|stdout|Downloaded droplet (%s)", steps.ByteSize(uint64(len(droplet)))),
			"|stdout|hello from the droplet", "|stdout|vcap 644", "|stdout|vcap 755",
		} {
			if !log.has(l) {
				t.Errorf("missing %q in %q", l, log.get())
			}
		}
	})

	t.Run("a bad checksum fails the download", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		step := buildTree(t, tr, c, log, steps.RunInfo{
			Setup:  &models.Action{DownloadAction: &models.DownloadAction{Artifact: "droplet", From: srv.URL + "/droplet.tgz", To: "/tmp/x", ChecksumAlgorithm: "sha256", ChecksumValue: strings.Repeat("ab", 32)}},
			Action: sh("echo should not run"),
		})
		err := step.Run(context.Background(), steps.NoReady)
		var cf *cache.ChecksumFailedError
		if err == nil || err.Error() != "Downloading droplet failed" || !errors.As(err, &cf) {
			t.Fatalf("Run = %v", err)
		}
		if !log.has("|stderr|Downloading droplet failed") || log.has("|stdout|should not run") {
			t.Errorf("lines = %q", log.get())
		}
		if exists(t, c, "/tmp/x") {
			t.Error("something was extracted")
		}
	})

	t.Run("upload", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		action := &models.Action{SerialAction: &models.SerialAction{Actions: []*models.Action{
			{RunAction: &models.RunAction{Path: "/bin/sh", User: "vcap", Args: []string{"-c", "printf 'task result' > /home/vcap/result.txt"}}},
			{UploadAction: &models.UploadAction{Artifact: "result", From: "/home/vcap/result.txt", To: srv.URL + "/results/1", User: "vcap"}},
		}}}
		must(t, buildTree(t, tr, c, log, steps.RunInfo{Action: action}).Run(context.Background(), steps.NoReady))
		srv.mu.Lock()
		got := string(srv.uploaded["/results/1"])
		srv.mu.Unlock()
		if got != "task result" {
			t.Errorf("uploaded %q", got)
		}
		if !log.has("|stdout|Uploading result...") || !log.has("|stdout|Uploaded result (11B)") {
			t.Errorf("lines = %q", log.get())
		}
	})
}

// newNetNS makes a network namespace with loopback and a veth pair, hc0
// holding addr, pinned on a file of the test's; it is removed at the end.
func newNetNS(t *testing.T, addr string) string {
	t.Helper()
	// Not below t.TempDir(): runc refuses namespace paths with commas,
	// which test names may hold.
	dir, err := os.MkdirTemp("", "steps-netns-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "netns")
	f, err := os.Create(path)
	must(t, err)
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread leaves the namespace by ending.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), path, "none", unix.MS_BIND, ""); err != nil {
			errc <- err
			return
		}
		errc <- setupLinks(addr)
	}()
	err = <-errc
	t.Cleanup(func() { _ = unix.Unmount(path, unix.MNT_DETACH) })
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	return path
}

func setupLinks(addr string) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "hc0"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "hc1"}); err != nil {
		return err
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		return err
	}
	for _, name := range []string{"hc0", "hc1"} {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if name == "hc0" {
			if err := netlink.AddrAdd(l, a); err != nil {
				return err
			}
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return err
		}
	}
	return nil
}

func TestRealHealthChecks(t *testing.T) {
	e := newRealEnv(t)
	tr := newTransformer(t, steps.Config{
		UnhealthyMonitoringInterval: 100 * time.Millisecond,
		HealthyMonitoringInterval:   200 * time.Millisecond,
		GracefulShutdownInterval:    300 * time.Millisecond,
	})
	app := sh("mkdir -p /tmp/www && echo ok > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && exec sleep 1000")
	checks := &models.CheckDefinition{Checks: []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080, Path: "/index.html", RequestTimeoutMs: 500}}}}

	t.Run("a failing startup check fails the instance", func(t *testing.T) {
		// Loopback only: the check finds no address to check.
		c := e.create(t, containerd.ContainerSpec{})
		log := &fakeLog{}
		step := buildTree(t, tr, c, log, steps.RunInfo{Handle: c.ID(), Action: app, CheckDefinition: checks, StartTimeout: time.Second})
		r := start(context.Background(), step)
		err := r.wait(t)
		t.Logf("reason: %v", err)
		if err == nil || !strings.HasPrefix(err.Error(), "Instance never healthy after ") || !strings.Contains(err.Error(), "failure to find suitable interface") {
			t.Fatalf("Run = %v", err)
		}
		if r.isReady() {
			t.Error("ready although never healthy")
		}
		if !hasPrefixLine(log.get(), "|stderr|Failed after ") || !hasPrefixLine(log.get(), "HEALTH|stderr|") {
			t.Errorf("lines = %q", log.get())
		}
		for _, l := range psArgs(t, c) {
			if strings.Contains(l, "sleep 1000") || strings.Contains(l, "healthcheck") {
				t.Errorf("still running: %q", l)
			}
		}
	})

	t.Run("healthy then unhealthy", func(t *testing.T) {
		c := e.create(t, containerd.ContainerSpec{NetNSPath: newNetNS(t, "10.254.7.2/24")})
		log := &fakeLog{}
		step := buildTree(t, tr, c, log, steps.RunInfo{Handle: c.ID(), Action: app, CheckDefinition: checks, StartTimeout: 10 * time.Second})
		r := start(context.Background(), step)
		select {
		case <-r.ready:
		case err := <-r.done:
			t.Fatalf("ended before healthy: %v; lines %q", err, log.get())
		case <-time.After(15 * time.Second):
			t.Fatalf("never healthy; lines %q", log.get())
		}
		if !log.has("|stdout|Container became healthy") {
			t.Errorf("lines = %q", log.get())
		}
		time.Sleep(500 * time.Millisecond) // a few liveness checks pass
		if r.ended() {
			t.Fatalf("ended while healthy: %q", log.get())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "killall httpd"}})
		must(t, err)
		_, _ = p.Wait(ctx)
		err = r.wait(t)
		t.Logf("reason: %v", err)
		if err == nil || !strings.HasPrefix(err.Error(), "Instance became unhealthy: ") || !strings.Contains(err.Error(), "8080") {
			t.Fatalf("Run = %v", err)
		}
		if !log.has("|stderr|Container became unhealthy") {
			t.Errorf("lines = %q", log.get())
		}
		for _, l := range psArgs(t, c) {
			if strings.Contains(l, "sleep 1000") || strings.Contains(l, "healthcheck") {
				t.Errorf("still running: %q", l)
			}
		}
	})
}
