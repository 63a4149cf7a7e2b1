package cache_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/cache"
)

// server serves files on loopback, with an ETag, and counts requests.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	noETag   bool
	failures int // answer 500 this many times first
	gate     chan struct{}
	requests atomic.Int32
	bodies   atomic.Int32 // 200 answers
}

func newServer(t *testing.T) *server {
	s := &server{files: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	body, ok := s.files[r.URL.Path]
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	noETag := s.noETag
	s.mu.Unlock()
	if fail {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if !noETag {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.bodies.Add(1)
	_, _ = w.Write(body)
}

func (s *server) put(path string, body []byte) *url.URL {
	s.mu.Lock()
	s.files[path] = body
	s.mu.Unlock()
	u, _ := url.Parse(s.URL + path)
	return u
}

func newCache(t *testing.T, dir string, max int64) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Config{Dir: dir, MaxSizeBytes: max, RetryWait: time.Millisecond, MaxRetryWait: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tarOf makes a tar of name → content.
func tarOf(t *testing.T, format tar.Format, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		hdr := &tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg, Format: format, ModTime: time.Unix(1e9, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(tw, files[i+1])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entries reads a tar stream as name → content (symlinks as "-> target").
func entries(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("not a tar: %v", err)
		}
		if hdr.Typeflag == tar.TypeSymlink {
			out[hdr.Name] = "-> " + hdr.Linkname
			continue
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
	}
}

func fetch(t *testing.T, c *cache.Cache, u *url.URL, key string, sum cache.Checksum) (map[string]string, int64) {
	t.Helper()
	r, n, err := c.Fetch(context.Background(), u, key, sum)
	if err != nil {
		t.Fatalf("Fetch(%s, %q): %v", u, key, err)
	}
	defer r.Close()
	return entries(t, r), n
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// files lists the regular files below dir (relative).
func files(t *testing.T, dir string) []string {
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestFormats(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	c := newCache(t, dir, 1<<20)
	plain := tarOf(t, tar.FormatPAX, "a.txt", "A", "dir/b.txt", "B")
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	f, _ := zw.Create("dir/c.txt")
	_, _ = f.Write([]byte("C"))
	h := &zip.FileHeader{Name: "link"}
	h.SetMode(os.ModeSymlink | 0o777)
	f, _ = zw.CreateHeader(h)
	_, _ = f.Write([]byte("dir/c.txt"))
	must(t, zw.Close())
	gnu := tarOf(t, tar.FormatGNU, "g.txt", "G")

	for name, tc := range map[string]struct {
		body []byte
		want map[string]string
	}{
		"tar":     {plain, map[string]string{"a.txt": "A", "dir/b.txt": "B"}},
		"gnu tar": {gnu, map[string]string{"g.txt": "G"}},
		"tgz":     {gz(t, plain), map[string]string{"a.txt": "A", "dir/b.txt": "B"}},
		"zip":     {zbuf.Bytes(), map[string]string{"dir/c.txt": "C", "link": "-> dir/c.txt"}},
	} {
		u := srv.put("/"+strings.ReplaceAll(name, " ", "-"), tc.body)
		got, n := fetch(t, c, u, "", cache.Checksum{})
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: entries %v, want %v", name, got, tc.want)
		}
		if n != int64(len(tc.body)) {
			t.Errorf("%s: size %d, want the downloaded %d", name, n, len(tc.body))
		}
	}
	for _, body := range [][]byte{[]byte("just some text, not an archive"), nil} {
		u := srv.put("/garbage", body)
		if _, _, err := c.Fetch(context.Background(), u, "k", cache.Checksum{}); !errors.Is(err, cache.ErrUnknownArchiveFormat) {
			t.Errorf("%q: Fetch = %v, want unknown archive format", body, err)
		}
	}
	if got := files(t, dir); len(got) != 0 && !slices.Equal(got, []string{"index.json"}) {
		t.Errorf("files left: %v", got)
	}
}

func TestRevalidation(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	c := newCache(t, dir, 1<<20)
	body := gz(t, tarOf(t, tar.FormatPAX, "x", "1"))
	u := srv.put("/droplet", body)

	got, n := fetch(t, c, u, "droplet-key", cache.Checksum{})
	if got["x"] != "1" || n != int64(len(body)) {
		t.Fatalf("first fetch: %v, %d", got, n)
	}
	got, n = fetch(t, c, u, "droplet-key", cache.Checksum{})
	if got["x"] != "1" || n != 0 {
		t.Fatalf("second fetch: %v, %d (want size 0: from the cache)", got, n)
	}
	if srv.requests.Load() != 2 || srv.bodies.Load() != 1 {
		t.Errorf("%d requests, %d bodies; want 2 and 1", srv.requests.Load(), srv.bodies.Load())
	}
	// Changed on the server: downloaded again and replaced.
	u = srv.put("/droplet", tarOf(t, tar.FormatPAX, "x", "2"))
	if got, n = fetch(t, c, u, "droplet-key", cache.Checksum{}); got["x"] != "2" || n == 0 {
		t.Fatalf("after a change: %v, %d", got, n)
	}
	if st := c.Stats(); st.Entries != 1 {
		t.Errorf("stats %+v", st)
	}
	if fs := files(t, dir); len(fs) != 2 { // index + one entry
		t.Errorf("files %v", fs)
	}
}

func TestChecksums(t *testing.T) {
	srv := newServer(t)
	c := newCache(t, t.TempDir(), 1<<20)
	body := tarOf(t, tar.FormatPAX, "f", "content")
	u := srv.put("/blob", body)
	wrong := strings.Repeat("0", 64)

	_, _, err := c.Fetch(context.Background(), u, "k", cache.Checksum{Algorithm: "sha256", Value: wrong})
	var cf *cache.ChecksumFailedError
	if !errors.As(err, &cf) || err.Error() != fmt.Sprintf(`Checksum failed: 'checksum mismatch', expected '%s', got '"%s"'`, wrong, sha(body)) {
		t.Fatalf("Fetch = %v", err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("%d requests: a checksum failure must not be retried", srv.requests.Load())
	}
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("a bad download was cached: %+v", st)
	}

	for _, bad := range []cache.Checksum{{Algorithm: "crc32", Value: "abc"}, {Algorithm: "sha256"}, {Algorithm: "md5", Value: "zz"}} {
		if _, _, err := c.Fetch(context.Background(), u, "k", bad); !errors.As(err, &cf) {
			t.Errorf("%+v: Fetch = %v", bad, err)
		}
	}
	if _, _, err := c.Fetch(context.Background(), u, "k", cache.Checksum{Algorithm: "crc32", Value: "x"}); err == nil ||
		err.Error() != "Checksum failed: 'algorithm invalid', expected '[md5, sha1, sha256]', got 'crc32'" {
		t.Errorf("Fetch = %v", err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("invalid checksums were downloaded (%d requests)", srv.requests.Load())
	}

	got, _ := fetch(t, c, u, "k", cache.Checksum{Algorithm: "sha256", Value: `"` + sha(body) + `"`})
	if got["f"] != "content" {
		t.Fatalf("entries %v", got)
	}
	// A cached entry is checked too: another checksum means other content.
	before := srv.bodies.Load()
	_, _, err = c.Fetch(context.Background(), u, "k", cache.Checksum{Algorithm: "sha256", Value: wrong})
	if !errors.As(err, &cf) || srv.bodies.Load() != before+1 {
		t.Errorf("Fetch = %v after %d bodies (want a full download)", err, srv.bodies.Load()-before)
	}
}

func TestConcurrentFetchesShareOne(t *testing.T) {
	srv := newServer(t)
	srv.gate = make(chan struct{})
	c := newCache(t, t.TempDir(), 1<<20)
	u := srv.put("/big", tarOf(t, tar.FormatPAX, "f", "shared"))
	const n = 6
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := c.Fetch(context.Background(), u, "same", cache.Checksum{})
			if err != nil {
				results[i] = err.Error()
				return
			}
			defer r.Close()
			results[i] = entries(t, r)["f"]
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others are waiting by now
	close(srv.gate)
	wg.Wait()
	for i, r := range results {
		if r != "shared" {
			t.Errorf("fetch %d: %q", i, r)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Errorf("%d requests for %d concurrent fetches of one key", got, n)
	}
}

func TestLRUEviction(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	a := tarOf(t, tar.FormatPAX, "a", strings.Repeat("a", 3000))
	size := int64(len(a)) // every entry has the same size
	c := newCache(t, dir, 2*size)
	ua := srv.put("/a", a)
	ub := srv.put("/b", tarOf(t, tar.FormatPAX, "b", strings.Repeat("b", 3000)))
	uc := srv.put("/c", tarOf(t, tar.FormatPAX, "c", strings.Repeat("c", 3000)))

	fetch(t, c, ua, "a", cache.Checksum{})
	fetch(t, c, ub, "b", cache.Checksum{})
	fetch(t, c, ua, "a", cache.Checksum{}) // a is now more recent than b
	fetch(t, c, uc, "c", cache.Checksum{}) // evicts b
	if st := c.Stats(); st.Entries != 2 || st.UsedBytes != 2*size {
		t.Fatalf("stats %+v", st)
	}
	before := srv.bodies.Load()
	fetch(t, c, ua, "a", cache.Checksum{})
	if srv.bodies.Load() != before {
		t.Error("a was evicted")
	}
	fetch(t, c, ub, "b", cache.Checksum{}) // evicts c (a was used last)
	if srv.bodies.Load() != before+1 {
		t.Error("b was still cached")
	}

	// An entry being read is never evicted; its space may be exceeded.
	r, _, err := c.Fetch(context.Background(), ua, "a", cache.Checksum{})
	must(t, err)
	r2, _, err := c.Fetch(context.Background(), ub, "b", cache.Checksum{})
	must(t, err)
	fetch(t, c, uc, "c", cache.Checksum{})
	if got := entries(t, r); got["a"] == "" {
		t.Error("the open entry was damaged")
	}
	r.Close()
	r2.Close()
	if st := c.Stats(); st.Entries != 3 {
		t.Errorf("stats %+v (nothing could be evicted)", st)
	}
	fetch(t, c, ua, "a", cache.Checksum{}) // makes room on the next add only
	fetch(t, c, srv.put("/d", tarOf(t, tar.FormatPAX, "d", strings.Repeat("d", 3000))), "d", cache.Checksum{})
	if st := c.Stats(); st.Entries != 2 || st.UsedBytes > 2*size {
		t.Errorf("stats %+v", st)
	}
	if fs := files(t, dir); len(fs) != 3 {
		t.Errorf("files %v, want the index and 2 entries", fs)
	}
}

func TestUncacheable(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	c := newCache(t, dir, 100)
	u := srv.put("/big", tarOf(t, tar.FormatPAX, "x", strings.Repeat("x", 1000)))
	r, n, err := c.Fetch(context.Background(), u, "too-big", cache.Checksum{})
	must(t, err)
	if n == 0 || entries(t, r)["x"] == "" {
		t.Error("not served")
	}
	r.Close()
	srv.noETag = true
	c2 := newCache(t, t.TempDir(), 1<<20)
	r, _, err = c2.Fetch(context.Background(), srv.put("/small", tarOf(t, tar.FormatPAX, "y", "y")), "no-etag", cache.Checksum{})
	must(t, err)
	r.Close()
	if c.Stats().Entries != 0 || c2.Stats().Entries != 0 {
		t.Errorf("cached: %+v %+v", c.Stats(), c2.Stats())
	}
	if fs := files(t, dir); !slices.Equal(fs, []string{"index.json"}) {
		t.Errorf("files %v", fs)
	}
}

func TestRecover(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	c := newCache(t, dir, 1<<20)
	u := srv.put("/x", tarOf(t, tar.FormatPAX, "x", "1"))
	fetch(t, c, u, "x", cache.Checksum{})
	must(t, os.WriteFile(filepath.Join(dir, "stray"), []byte("?"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "tmp", "half"), 0o700))

	c2 := newCache(t, dir, 1<<20)
	if st := c2.Stats(); st.Entries != 1 {
		t.Fatalf("recovered %+v", st)
	}
	if _, n := fetch(t, c2, u, "x", cache.Checksum{}); n != 0 {
		t.Error("the recovered entry was downloaded again")
	}
	for _, f := range files(t, dir) {
		if f == "stray" || strings.HasPrefix(f, "tmp/") {
			t.Errorf("left %s", f)
		}
	}
	// A smaller limit evicts at start.
	c3 := newCache(t, dir, 1)
	if st := c3.Stats(); st.Entries != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetries(t *testing.T) {
	srv := newServer(t)
	c := newCache(t, t.TempDir(), 1<<20)
	u := srv.put("/flaky", tarOf(t, tar.FormatPAX, "x", "1"))
	srv.failures = 2
	if got, _ := fetch(t, c, u, "", cache.Checksum{}); got["x"] != "1" {
		t.Fatal("no content")
	}
	if srv.requests.Load() != 3 {
		t.Errorf("%d requests, want 3", srv.requests.Load())
	}
	missing, _ := url.Parse(srv.URL + "/missing")
	_, _, err := c.Fetch(context.Background(), missing, "", cache.Checksum{})
	var se *cache.StatusError
	if !errors.As(err, &se) || err.Error() != "Download failed: Status code 404" {
		t.Fatalf("Fetch = %v", err)
	}
	if srv.requests.Load() != 3+cache.DefaultAttempts {
		t.Errorf("%d requests", srv.requests.Load())
	}
}

func TestCancel(t *testing.T) {
	srv := newServer(t)
	srv.gate = make(chan struct{})
	defer close(srv.gate)
	c := newCache(t, t.TempDir(), 1<<20)
	u := srv.put("/slow", tarOf(t, tar.FormatPAX, "x", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Fetch(ctx, u, "slow", cache.Checksum{})
		done <- err
	}()
	for srv.requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not stop the download")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := cache.New(cache.Config{}); err == nil {
		t.Error("no dir accepted")
	}
	if _, err := cache.New(cache.Config{Dir: t.TempDir(), MaxSizeBytes: -1}); err == nil {
		t.Error("negative size accepted")
	}
	c := newCache(t, t.TempDir(), 10)
	if _, _, err := c.Fetch(context.Background(), nil, "", cache.Checksum{}); err == nil {
		t.Error("nil url accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
