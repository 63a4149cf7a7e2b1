package steps_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/cache"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

func TestBuildErrors(t *testing.T) {
	tr := newTransformer(t, steps.Config{})
	c := &fakeContainer{}
	for _, tc := range []struct {
		name string
		info steps.RunInfo
		want string
	}{
		{"no action", steps.RunInfo{}, "container cannot have empty action"},
		{"empty action", steps.RunInfo{Action: &models.Action{}}, "action: action has no kind"},
		{"nested empty action", steps.RunInfo{Action: &models.Action{SerialAction: &models.SerialAction{Actions: []*models.Action{run("/a"), {}}}}},
			"action: serial 1: action has no kind"},
		{"bad timeout", steps.RunInfo{Action: &models.Action{TimeoutAction: &models.TimeoutAction{Action: run("/a")}}},
			"action: timeout action: timeout_ms must be positive, not 0"},
		{"no downloader", steps.RunInfo{Setup: &models.Action{DownloadAction: &models.DownloadAction{From: "http://x/y", To: "/tmp"}}, Action: run("/a")},
			"setup: download action: no downloader configured"},
		{"bad monitor", steps.RunInfo{Action: run("/a"), Monitor: &models.Action{TryAction: &models.TryAction{}}}, "monitor: try: missing action"},
		{"negative start timeout", steps.RunInfo{Action: run("/a"), StartTimeout: -time.Second}, "negative start timeout -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Build(c, &fakeLog{}, tc.info)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Build = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := steps.NewTransformer(steps.Config{GracefulShutdownInterval: -1}); err == nil {
		t.Error("negative interval accepted")
	}
}

func TestBuildComposition(t *testing.T) {
	var order []string
	var mu sync.Mutex
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		mu.Lock()
		order = append(order, spec.Path+" as "+spec.User)
		mu.Unlock()
		return behavior{}
	}}
	var setupTook time.Duration
	var setupErr error = errors.New("not reported")
	tr := newTransformer(t, steps.Config{
		PostSetupHook: []string{"/hook", "-x"}, PostSetupUser: "root",
		SetupDuration: func(d time.Duration, err error) { setupTook, setupErr = d, err },
	})
	log := &fakeLog{}
	tree, err := tr.Build(c, log, steps.RunInfo{
		Setup:         &models.Action{RunAction: &models.RunAction{Path: "/setup", User: "vcap"}},
		Action:        &models.Action{RunAction: &models.RunAction{Path: "/app", User: "vcap"}},
		Env:           []string{"CF_INSTANCE_PORT="},
		CreationStart: time.Now().Add(-time.Second),
	})
	must(t, err)
	r := start(context.Background(), tree.Step)
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
	if !r.isReady() {
		t.Error("not ready")
	}
	if want := []string{"/setup as vcap", "/hook as root", "/app as vcap"}; !slices.Equal(order, want) {
		t.Errorf("order = %q, want %q", order, want)
	}
	if setupErr != nil || setupTook < time.Second {
		t.Errorf("setup reported %s, %v", setupTook, setupErr)
	}
	for _, s := range c.started() {
		if !slices.Contains(s.Env, "CF_INSTANCE_PORT=") {
			t.Errorf("%s: env %q", s.Path, s.Env)
		}
		if s.Path == "/hook" && !slices.Equal(s.Args, []string{"-x"}) {
			t.Errorf("hook args %q", s.Args)
		}
	}
	if got := log.get(); !slices.Equal(got, []string{"|stdout|Exit status 0", "|stdout|Exit status 0"}) {
		t.Errorf("lines = %q", got)
	}
}

// namedLog is a fakeLog with a default source name.
type namedLog struct{ fakeLog }

func (n *namedLog) SourceName() string { return "CELL" }

func TestBuildLogSources(t *testing.T) {
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		return behavior{output: []string{"out of " + spec.Path}, exit: 1}
	}}
	tr := newTransformer(t, steps.Config{})
	action := &models.Action{SerialAction: &models.SerialAction{LogSource: "IGNORED", Actions: []*models.Action{
		{TryAction: &models.TryAction{LogSource: "TRY", Action: run("/a")}},
		{EmitProgressAction: &models.EmitProgressAction{
			LogSource: "PROGRESS", StartMessage: "go", FailureMessagePrefix: "failed",
			Action: &models.Action{TimeoutAction: &models.TimeoutAction{TimeoutMs: 60000, Action: run("/b")}},
		}},
	}}}
	log := &namedLog{}
	tree, err := tr.Build(c, log, steps.RunInfo{Action: action})
	must(t, err)
	err = tree.Step.Run(context.Background(), steps.NoReady)
	if err == nil || err.Error() != "CELL: Exited with status 1" {
		t.Fatalf("Run = %v", err)
	}
	want := []string{
		"TRY|stdout|out of /a", "TRY|stdout|Exit status 1",
		"PROGRESS|stdout|go",
		"|stdout|out of /b", "|stdout|Exit status 1",
		"PROGRESS|stderr|failed: CELL: Exited with status 1",
	}
	if got := log.get(); !slices.Equal(got, want) {
		t.Errorf("lines =\n%q\nwant\n%q", got, want)
	}

	// RunInfo.SourceName wins; without any, LOG.
	for name, want := range map[string]string{"APP/PROC/WEB": "APP/PROC/WEB: Exited with status 1", "": "LOG: Exited with status 1"} {
		tree, err := tr.Build(c, &fakeLog{}, steps.RunInfo{Action: run("/x"), SourceName: name})
		must(t, err)
		if err := tree.Step.Run(context.Background(), steps.NoReady); err == nil || err.Error() != want {
			t.Errorf("source %q: Run = %v, want %q", name, err, want)
		}
	}
}

func TestBuildSidecars(t *testing.T) {
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path == "/app" {
			return behavior{}
		}
		return behavior{block: true}
	}}
	tree, err := newTransformer(t, steps.Config{}).Build(c, &fakeLog{}, steps.RunInfo{
		Action: run("/app"), Sidecars: []*models.Sidecar{{Action: run("/sidecar")}},
	})
	must(t, err)
	r := start(context.Background(), tree.Step)
	err = r.wait(t)
	if err == nil || err.Error() != "" || !steps.IsCancelled(err) {
		t.Fatalf("Run = %#v, want the sidecar stopped", err)
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

// fakeDownloader serves one archive.
type fakeDownloader struct {
	body []byte
	size int64
	err  error
	got  []string
}

func (f *fakeDownloader) Fetch(_ context.Context, u *url.URL, key string, sum cache.Checksum) (io.ReadCloser, int64, error) {
	f.got = append(f.got, u.String()+" "+key+" "+sum.Algorithm+":"+sum.Value)
	if f.err != nil {
		return nil, 0, f.err
	}
	return io.NopCloser(bytes.NewReader(f.body)), f.size, nil
}

func TestDownloadStep(t *testing.T) {
	action := &models.DownloadAction{
		Artifact: "app bits", From: "http://blobstore/droplet", To: "/home/vcap", CacheKey: "droplet-1",
		User: "vcap", ChecksumAlgorithm: "sha256", ChecksumValue: "abc", LogSource: "STG",
	}
	t.Run("success", func(t *testing.T) {
		d := &fakeDownloader{body: tarOf(t, "app/run.sh", "echo hi"), size: 1536}
		c := &fakeContainer{}
		log := &fakeLog{}
		s := &steps.DownloadStep{Container: c, Action: action, Downloader: d, Log: log, Source: "STG"}
		r := start(context.Background(), s)
		if err := r.wait(t); err != nil {
			t.Fatal(err)
		}
		if !r.isReady() {
			t.Error("not ready")
		}
		if got := c.streamedIn["/home/vcap/app/run.sh"]; got != "echo hi" || c.streamedUser != "vcap" {
			t.Errorf("streamed in %q as %q", got, c.streamedUser)
		}
		if !slices.Equal(d.got, []string{"http://blobstore/droplet droplet-1 sha256:abc"}) {
			t.Errorf("fetched %q", d.got)
		}
		if want := []string{"STG|stdout|Downloading app bits...", "STG|stdout|Downloaded app bits (1.5K)"}; !slices.Equal(log.get(), want) {
			t.Errorf("lines = %q", log.get())
		}
	})
	t.Run("fresh cache: no size", func(t *testing.T) {
		log := &fakeLog{}
		s := &steps.DownloadStep{Container: &fakeContainer{}, Action: action, Downloader: &fakeDownloader{body: tarOf(t)}, Log: log, Source: "STG"}
		must(t, s.Run(context.Background(), steps.NoReady))
		if !log.has("STG|stdout|Downloaded app bits") {
			t.Errorf("lines = %q", log.get())
		}
	})
	t.Run("fetch failure", func(t *testing.T) {
		log := &fakeLog{}
		fetchErr := &cache.ChecksumFailedError{Msg: "checksum mismatch", Expected: "abc", Received: `"def"`}
		s := &steps.DownloadStep{Container: &fakeContainer{}, Action: action, Downloader: &fakeDownloader{err: fetchErr}, Log: log, Source: "STG"}
		err := s.Run(context.Background(), steps.NoReady)
		var em *steps.EmittableError
		if !errors.As(err, &em) || err.Error() != "Downloading app bits failed" || !errors.Is(err, fetchErr) {
			t.Fatalf("Run = %v", err)
		}
		if want := []string{"STG|stdout|Downloading app bits...", "STG|stderr|Downloading app bits failed"}; !slices.Equal(log.get(), want) {
			t.Errorf("lines = %q", log.get())
		}
	})
	t.Run("copy failure, long error, no artifact", func(t *testing.T) {
		log := &fakeLog{}
		a := &models.DownloadAction{From: "http://blobstore/x", To: "/etc"}
		long := strings.Repeat("x", 2000)
		c := &fakeContainer{streamIn: func(string, string, io.Reader) error { return errors.New(long) }}
		s := &steps.DownloadStep{Container: c, Action: a, Downloader: &fakeDownloader{body: tarOf(t)}, Log: log}
		err := s.Run(context.Background(), steps.NoReady)
		if err == nil || err.Error() != "Copying into the container failed: "+long {
			t.Fatalf("Run = %.80v", err)
		}
		lines := log.get()
		if len(lines) != 1 || len(lines[0]) != len("|stderr|")+1024 || !strings.HasSuffix(lines[0], "x (error truncated)") {
			t.Errorf("lines = %.100q (len %d)", lines, len(lines[0]))
		}
	})
	t.Run("bad url", func(t *testing.T) {
		a := &models.DownloadAction{From: "not a url", To: "/tmp"}
		s := &steps.DownloadStep{Container: &fakeContainer{}, Action: a, Downloader: &fakeDownloader{}, Log: &fakeLog{}}
		if err := s.Run(context.Background(), steps.NoReady); err == nil || err.Error() != "Downloading failed" {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("cancelled while waiting for a slot", func(t *testing.T) {
		slots := make(chan struct{}, 1)
		slots <- struct{}{}
		ctx, cancel := context.WithCancel(context.Background())
		d := &fakeDownloader{}
		r := start(ctx, &steps.DownloadStep{Container: &fakeContainer{}, Action: action, Downloader: d, Slots: slots, Log: &fakeLog{}})
		waitFor(t, "ready", r.isReady)
		cancel()
		if err := r.wait(t); !steps.IsCancelled(err) || len(d.got) != 0 {
			t.Fatalf("Run = %v, fetched %q", err, d.got)
		}
	})
}

func TestUploadStep(t *testing.T) {
	var got struct {
		sync.Mutex
		method, body, md5, digest, ctype string
	}
	status := http.StatusCreated
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		got.method, got.body = r.Method, string(b)
		got.md5, got.digest, got.ctype = r.Header.Get("Content-MD5"), r.Header.Get("Content-Digest"), r.Header.Get("Content-Type")
		got.Unlock()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	archive := tarOf(t, "result.json", `{"ok":true}`, "other", "ignored")
	c := &fakeContainer{streamOut: func(src, user string) (io.ReadCloser, error) {
		if src != "/tmp/result.json" || user != "vcap" {
			return nil, errors.New("wrong file")
		}
		return io.NopCloser(bytes.NewReader(archive)), nil
	}}
	tmp := t.TempDir()
	action := &models.UploadAction{Artifact: "result", From: "/tmp/result.json", To: srv.URL + "/upload?token=secret", User: "vcap"}
	uploader := steps.NewHTTPUploader(time.Minute, nil, nil)
	log := &fakeLog{}
	s := &steps.UploadStep{Container: c, Action: action, Uploader: uploader, TempDir: tmp, Log: log, Source: "U"}
	must(t, s.Run(context.Background(), steps.NoReady))
	got.Lock()
	body := `{"ok":true}`
	m, sh := md5.Sum([]byte(body)), sha256.Sum256([]byte(body))
	if got.method != http.MethodPost || got.body != body || got.ctype != "application/octet-stream" ||
		got.md5 != base64.StdEncoding.EncodeToString(m[:]) || got.digest != "sha-256=:"+base64.StdEncoding.EncodeToString(sh[:])+":" {
		t.Errorf("request = %s %q %s %s %s", got.method, got.body, got.ctype, got.md5, got.digest)
	}
	got.Unlock()
	if want := []string{"U|stdout|Uploading result...", "U|stdout|Uploaded result (11B)"}; !slices.Equal(log.get(), want) {
		t.Errorf("lines = %q", log.get())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}

	status = http.StatusInternalServerError
	log = &fakeLog{}
	s.Log = log
	err := s.Run(context.Background(), steps.NoReady)
	if err == nil || err.Error() != "Upload failed: Status code 500" {
		t.Fatalf("Run = %v", err)
	}
	if !log.has("U|stderr|Failed to upload payload for result") || strings.Contains(strings.Join(log.get(), " "), "secret") {
		t.Errorf("lines = %q", log.get())
	}

	s.Action = &models.UploadAction{Artifact: "result", From: "/missing", To: srv.URL, User: "vcap"}
	log = &fakeLog{}
	s.Log = log
	if err := s.Run(context.Background(), steps.NoReady); err == nil || err.Error() != "Failed to establish stream from container for result" {
		t.Fatalf("Run = %v", err)
	}
	if !log.has("U|stderr|Failed to establish stream from container for result") {
		t.Errorf("lines = %q", log.get())
	}
}

func TestProcessIDs(t *testing.T) {
	long := strings.Repeat("a", 70)
	for handle, want := range map[string]string{
		"guid":     "guid-startup-healthcheck-0",
		long:       "-startup-healthcheck-0", // hashed, suffix kept
		"bad/name": "-startup-healthcheck-0",
		"":         "",
	} {
		c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
			return behavior{exit: 1, block: spec.Path == "/app"}
		}}
		tree, err := newTransformer(t, steps.Config{}).Build(c, &fakeLog{}, steps.RunInfo{
			Handle: handle, Action: run("/app"),
			CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 1}}}},
		})
		must(t, err)
		_ = tree.Step.Run(context.Background(), steps.NoReady)
		var id string
		for _, s := range c.started() {
			if s.Path == hc {
				id = s.ID
			}
		}
		if !strings.HasSuffix(id, want) || (handle != "guid" && handle != "" && (len(id) != 16+len(want) || strings.Contains(id, handle))) {
			t.Errorf("handle %.10q: id %q", handle, id)
		}
		if handle == "" && id != "" {
			t.Errorf("no handle: id %q", id)
		}
	}
}
