package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// tlsFiles holds the PEM files of the tests: a server and a client signed
// by the test CA, and a client signed by another CA.
type tlsFiles struct {
	server, client, stranger certs.Paths
}

// certDir holds the files, made once for the test binary (RSA keys are slow
// to generate).
var certDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bbs-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	certDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var sharedTLSFiles = sync.OnceValues(func() (tlsFiles, error) {
	ca, err := certs.NewAuthority("bbs-client-test-ca")
	if err != nil {
		return tlsFiles{}, err
	}
	other, err := certs.NewAuthority("stranger-ca")
	if err != nil {
		return tlsFiles{}, err
	}
	var f tlsFiles
	if f.server, err = ca.WriteLeaf(certDir, "server", certs.LocalNames("bbs", "bbs.service.cf.internal")); err != nil {
		return tlsFiles{}, err
	}
	if f.client, err = ca.WriteLeaf(certDir, "client", certs.LocalNames("client")); err != nil {
		return tlsFiles{}, err
	}
	f.stranger, err = other.WriteLeaf(filepath.Join(certDir, "other"), "client", certs.LocalNames("client"))
	return f, err
})

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	f, err := sharedTLSFiles()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seen is one request as the fake BBS received it.
type seen struct {
	method, path, proto string
	requestID           string
	contentType         string
	lastEventID         string
	peerCN              string
	body                []byte
}

// fakeBBS is an HTTPS server requiring client certificates whose answers a
// test sets with handle.
type fakeBBS struct {
	*httptest.Server
	files tlsFiles

	mu     sync.Mutex
	seen   []seen
	handle func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newFakeBBS(t *testing.T) *fakeBBS {
	t.Helper()
	f := &fakeBBS{files: writeTLSFiles(t)}
	serverTLS, err := tlsconfig.Server(tlsconfig.Files{CAFile: f.files.server.CAFile, CertFile: f.files.server.CertFile, KeyFile: f.files.server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Server.TLS = serverTLS
	f.Server.StartTLS()
	t.Cleanup(f.Server.Close)
	return f
}

func (f *fakeBBS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := seen{
		method: r.Method, path: r.URL.Path, proto: r.Proto,
		requestID:   r.Header.Get("X-Vcap-Request-Id"),
		contentType: r.Header.Get("Content-Type"),
		lastEventID: r.Header.Get("Last-Event-ID"),
		body:        body,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.peerCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	handle := f.handle
	f.mu.Unlock()
	if handle == nil {
		http.NotFound(w, r)
		return
	}
	handle(w, r, body)
}

func (f *fakeBBS) setHandler(h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handle = h
}

// requests returns and forgets what was received.
func (f *fakeBBS) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.seen
	f.seen = nil
	return out
}

func (f *fakeBBS) config() Config {
	return Config{
		URL:                 f.URL,
		CAFile:              f.files.client.CAFile,
		CertFile:            f.files.client.CertFile,
		KeyFile:             f.files.client.KeyFile,
		RetryInterval:       time.Millisecond,
		StreamRetryInterval: time.Millisecond,
	}
}

func (f *fakeBBS) client(t *testing.T, change func(*Config)) *Client {
	t.Helper()
	cfg := f.config()
	if change != nil {
		change(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// encode marshals m for a canned answer; it fills m's non-nullable fields
// first, so m compares equal to what the client decodes.
func encode(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := models.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeProto(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// answer makes a handler that answers every request with b as protobuf.
func answer(b []byte) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeProto(w, b) }
}

// status makes a handler that answers a bodiless status.
func status(code int) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(code) }
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// decodeAs decodes b into a new message of like's type.
func decodeAs(t *testing.T, like proto.Message, b []byte) proto.Message {
	t.Helper()
	m := like.ProtoReflect().New().Interface()
	if err := models.Unmarshal(b, m); err != nil {
		t.Fatalf("decoding %T: %v", like, err)
	}
	return m
}

// normalized is m after a trip through the wire.
func normalized(t *testing.T, m proto.Message) proto.Message {
	t.Helper()
	return decodeAs(t, m, encode(t, proto.Clone(m)))
}

func ptr[T any](v T) *T { return &v }
