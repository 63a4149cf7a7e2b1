package containerd_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/diego-go/diego/internal/executor/containerdtest"
)

const registryBin = "/usr/bin/docker-registry"

// registry is a private docker-registry (Debian's distribution 2.8) on
// loopback, started by a test and removed when it ends.
type registry struct {
	// Host is 127.0.0.1:<port>.
	Host       string
	tls        bool
	user, pass string
	client     *http.Client

	mu         sync.Mutex
	compressed map[string]string // layer diff id → blob digest
}

type registryOpts struct {
	// TLS serves HTTPS with a self-signed certificate.
	TLS bool
	// User and Pass turn on basic auth (htpasswd, bcrypt).
	User, Pass string
}

// startRegistry starts a registry for t; it skips t when docker-registry is
// missing, unless DIEGO_TEST_REQUIRE_CONTAINERD=1.
func startRegistry(t *testing.T, opts registryOpts) *registry {
	t.Helper()
	if _, err := os.Stat(registryBin); err != nil {
		if os.Getenv(containerdtest.EnvRequire) == "1" {
			t.Fatalf("docker-registry required (%s=1) but %s is missing (run scripts/install-deps.sh test)", containerdtest.EnvRequire, registryBin)
		}
		t.Skipf("skipping: %s is missing (run scripts/install-deps.sh test)", registryBin)
	}
	dir, err := os.MkdirTemp("", "diego-registry-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &registry{tls: opts.TLS, user: opts.User, pass: opts.Pass, compressed: map[string]string{}}
	var extra strings.Builder
	if opts.TLS {
		cert, key := selfSigned(t)
		writeFile(t, filepath.Join(dir, "cert.pem"), cert)
		writeFile(t, filepath.Join(dir, "key.pem"), key)
		fmt.Fprintf(&extra, "  tls:\n    certificate: %s\n    key: %s\n", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	}
	var auth string
	if opts.User != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "htpasswd"), []byte(opts.User+":"+string(hash)+"\n"))
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: diego-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	r.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the test's own self-signed registry
	}}
	// A free port can be taken between the probe and the registry's bind:
	// try a few.
	for attempt := 0; ; attempt++ {
		r.Host = freeLoopbackAddr(t)
		config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: diego-test-secret
%s%s`, filepath.Join(dir, "data"), r.Host, extra.String(), auth)
		writeFile(t, filepath.Join(dir, "config.yml"), []byte(config))
		err := r.start(t, dir)
		if err == nil {
			return r
		}
		if attempt == 2 {
			t.Fatalf("starting docker-registry: %v", err)
		}
	}
}

func (r *registry) start(t *testing.T, dir string) error {
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(registryBin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			return fmt.Errorf("docker-registry exited: %s", log)
		default:
		}
		resp, err := r.client.Get(r.url("/v2/"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				t.Cleanup(stop)
				return nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("docker-registry not ready on %s: %v", r.Host, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *registry) url(path string) string {
	scheme := "http"
	if r.tls {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func (r *registry) do(method, rawURL, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	return r.client.Do(req)
}

// testImage is an image the test builds: gzipped tar layers and a
// configuration.
type testImage struct {
	layers [][]byte // uncompressed tars
	env    []string
	user   string
}

// push uploads img as repo:tag (Docker's schema 2 manifest) and returns the
// manifest digest.
func (r *registry) push(t *testing.T, repo, tag string, img testImage) string {
	t.Helper()
	type desc struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	var layers []desc
	var diffIDs []string
	for _, l := range img.layers {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		if _, err := w.Write(l); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		blob := r.pushBlob(t, repo, gz.Bytes())
		layers = append(layers, desc{"application/vnd.docker.image.rootfs.diff.tar.gzip", gz.Len(), blob})
		diffIDs = append(diffIDs, sha(l))
		r.mu.Lock()
		r.compressed[sha(l)] = blob
		r.mu.Unlock()
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       map[string]any{"Env": img.env, "User": img.user, "WorkingDir": "/home/vcap"},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        desc{"application/vnd.docker.container.image.v1+json", len(config), r.pushBlob(t, repo, config)},
		"layers":        layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.do(http.MethodPut, r.url("/v2/"+repo+"/manifests/"+tag), "application/vnd.docker.distribution.manifest.v2+json", manifest)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing manifest %s:%s: %s", repo, tag, resp.Status)
	}
	return sha(manifest)
}

func (r *registry) pushBlob(t *testing.T, repo string, blob []byte) string {
	t.Helper()
	d := sha(blob)
	resp, err := r.do(http.MethodPost, r.url("/v2/"+repo+"/blobs/uploads/"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting upload to %s: %s", repo, resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(r.url("/"))
	loc = base.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", d)
	loc.RawQuery = q.Encode()
	resp, err = r.do(http.MethodPut, loc.String(), "application/octet-stream", blob)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading blob %s: %s", d, resp.Status)
	}
	return d
}

// countingProxy forwards to r and counts the blob downloads that pass.
type countingProxy struct {
	Host      string
	mu        sync.Mutex
	blobs     map[string]int
	manifests int // requests for a manifest (HEAD or GET)
}

// manifestRequests returns how many manifest requests went through p.
func (p *countingProxy) manifestRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.manifests
}

func (r *registry) proxy(t *testing.T) *countingProxy {
	t.Helper()
	if r.tls {
		t.Fatal("the counting proxy speaks plain HTTP to plain registries only")
	}
	target, _ := url.Parse(r.url("/"))
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &countingProxy{blobs: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Host = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.mu.Lock()
		switch {
		case req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:"):
			p.blobs[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]]++
		case strings.Contains(req.URL.Path, "/manifests/"):
			p.manifests++
		}
		p.mu.Unlock()
		rp.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

// downloads returns how often the blob of layer (uncompressed) went through
// p.
func (p *countingProxy) downloads(r *registry, layer []byte) int {
	r.mu.Lock()
	blob := r.compressed[sha(layer)]
	r.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blobs[blob]
}

// tarDir archives dir as an image layer (root-owned, paths relative).
func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		hdr.Name = rel
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarFiles makes a layer of regular files (name → content).
func tarFiles(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbackAddr returns 127.0.0.1:<a port free a moment ago>.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// selfSigned returns a PEM certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "diego-test-registry"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
