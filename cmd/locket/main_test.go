package main_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"github.com/diego-go/diego/internal/testutil/daemontest"
	"github.com/diego-go/diego/internal/tlsconfig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

var locketBin string

func TestMain(m *testing.M) { daemontest.Main(m, "locket", &locketBin) }

type harness struct {
	t     *testing.T
	pki   lockettest.PKI
	cfg   daemon.Config
	path  string
	proc  *daemontest.Process
	conn  *client.Conn
	debug string
}

func newHarness(t *testing.T, db sqldb.Config) *harness {
	t.Helper()
	pki := lockettest.NewPKI(t)
	cfg := daemon.DefaultConfig()
	cfg.ListenAddress = lockettest.FreeAddress(t)
	cfg.DebugAddress = lockettest.FreeAddress(t)
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.Server.CAFile, pki.Server.CertFile, pki.Server.KeyFile
	cfg.Config = db
	cfg.LogLevel = "debug"
	h := &harness{t: t, pki: pki, cfg: cfg, debug: cfg.DebugAddress}
	h.path = daemontest.WriteConfig(t, cfg)
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	h.proc = daemontest.StartReady(h.t, "locket", locketBin, h.path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, h.clientConfig())
	if err != nil {
		h.t.Fatal(err)
	}
	if h.conn != nil {
		h.conn.Close()
	}
	h.conn = conn
	h.t.Cleanup(func() { conn.Close() })
}

func (h *harness) clientConfig() client.Config {
	return client.Config{
		LocketAddress:        h.cfg.ListenAddress,
		LocketCACertFile:     h.pki.Client.CAFile,
		LocketClientCertFile: h.pki.Client.CertFile,
		LocketClientKeyFile:  h.pki.Client.KeyFile,
	}
}

func (h *harness) lock(key, owner string, code locketpb.TypeCode, ttl int64) error {
	_, err := h.conn.Lock(context.Background(), &locketpb.LockRequest{
		Resource:     &locketpb.Resource{Key: key, Owner: owner, Value: "value-of-" + owner, TypeCode: code},
		TtlInSeconds: ttl,
	})
	return err
}

func (h *harness) mustLock(key, owner string, code locketpb.TypeCode, ttl int64) {
	h.t.Helper()
	if err := h.lock(key, owner, code, ttl); err != nil {
		h.t.Fatalf("lock %s/%s: %v", key, owner, err)
	}
}

func (h *harness) exists(key string) bool {
	h.t.Helper()
	_, err := h.conn.Fetch(context.Background(), &locketpb.FetchRequest{Key: key})
	if status.Code(err) == codes.NotFound {
		return false
	}
	if err != nil {
		h.t.Fatalf("fetch %s: %v", key, err)
	}
	return true
}

// state lists every lock and presence, to check that refused requests
// changed nothing.
func (h *harness) state() string {
	h.t.Helper()
	var out []string
	for _, code := range []locketpb.TypeCode{locketpb.TypeCode_LOCK, locketpb.TypeCode_PRESENCE} {
		resp, err := h.conn.FetchAll(context.Background(), &locketpb.FetchAllRequest{TypeCode: code})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range resp.Resources {
			out = append(out, fmt.Sprintf("%s/%s/%s/%s/%d", r.Key, r.Owner, r.Value, r.Type, r.TypeCode))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// waitGone polls until key is gone and returns how long that took.
func (h *harness) waitGone(key string, within time.Duration) time.Duration {
	h.t.Helper()
	start := time.Now()
	for h.exists(key) {
		if time.Since(start) > within {
			h.t.Fatalf("%s still present after %s", key, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func TestLocketDaemon(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db sqldb.Config) {
		h := newHarness(t, db)

		t.Run("ttl expiry", func(t *testing.T) {
			h.mustLock("cell-expiring", "rep-1", locketpb.TypeCode_PRESENCE, 2)
			// Refreshing more often than the ttl keeps it.
			for i := 0; i < 4; i++ {
				time.Sleep(time.Second)
				h.mustLock("cell-expiring", "rep-1", locketpb.TypeCode_PRESENCE, 2)
			}
			// Silence: gone between ttl and ttl + 5 s after the last refresh.
			gone := h.waitGone("cell-expiring", 10*time.Second)
			t.Logf("expired %s after the last refresh (ttl 2s)", gone.Round(10*time.Millisecond))
			if gone < 1900*time.Millisecond || gone > 7500*time.Millisecond {
				t.Fatalf("expired after %s, want between 2s and 7s", gone)
			}
		})

		t.Run("two contenders", func(t *testing.T) {
			h.mustLock("auctioneer", "a", locketpb.TypeCode_LOCK, 2)
			err := h.lock("auctioneer", "b", locketpb.TypeCode_LOCK, 2)
			if status.Code(err) != codes.AlreadyExists || status.Convert(err).Message() != "lock-collision" {
				t.Fatalf("second contender got %v", err)
			}
			// a stops refreshing; b gets the lock once it expires.
			deadline := time.Now().Add(10 * time.Second)
			for h.lock("auctioneer", "b", locketpb.TypeCode_LOCK, 2) != nil {
				if time.Now().After(deadline) {
					t.Fatal("b never got the lock")
				}
				time.Sleep(100 * time.Millisecond)
			}
			resp, err := h.conn.Fetch(context.Background(), &locketpb.FetchRequest{Key: "auctioneer"})
			if err != nil || resp.Resource.Owner != "b" || resp.Resource.Type != "lock" || resp.Resource.TypeCode != locketpb.TypeCode_LOCK {
				t.Fatalf("fetched %v, %v", resp, err)
			}
		})

		t.Run("bad requests change nothing", func(t *testing.T) {
			h.mustLock("bbs", "owner", locketpb.TypeCode_LOCK, 60)
			h.mustLock("cell-z1", "rep", locketpb.TypeCode_PRESENCE, 60)
			before := h.state()
			ctx := context.Background()

			_, err := h.conn.Lock(ctx, &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "x", Owner: "o", TypeCode: 9}, TtlInSeconds: 5})
			expectStatus(t, err, codes.NotFound, "invalid-type")
			_, err = h.conn.Lock(ctx, &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "x", Owner: "o", Type: "lock"}, TtlInSeconds: 5})
			expectStatus(t, err, codes.NotFound, "invalid-type")
			_, err = h.conn.FetchAll(ctx, &locketpb.FetchAllRequest{})
			expectStatus(t, err, codes.NotFound, "invalid-type")
			_, err = h.conn.Lock(ctx, &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "x", Owner: "o", TypeCode: locketpb.TypeCode_LOCK}})
			expectStatus(t, err, codes.InvalidArgument, "invalid-ttl")
			_, err = h.conn.Lock(ctx, &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "x", TypeCode: locketpb.TypeCode_LOCK}, TtlInSeconds: 5})
			expectStatus(t, err, codes.InvalidArgument, "invalid-owner")
			_, err = h.conn.Lock(ctx, &locketpb.LockRequest{TtlInSeconds: 5})
			expectStatus(t, err, codes.InvalidArgument, "invalid-resource")
			err = h.lock("bbs", "intruder", locketpb.TypeCode_LOCK, 5)
			expectStatus(t, err, codes.AlreadyExists, "lock-collision")
			_, err = h.conn.Release(ctx, &locketpb.ReleaseRequest{Resource: &locketpb.Resource{Key: "bbs", Owner: "intruder"}})
			expectStatus(t, err, codes.AlreadyExists, "lock-collision")
			_, err = h.conn.Fetch(ctx, &locketpb.FetchRequest{Key: "nothing-here"})
			expectStatus(t, err, codes.NotFound, "resource-not-found")
			if _, err := h.conn.Release(ctx, &locketpb.ReleaseRequest{Resource: &locketpb.Resource{Key: "nothing-here", Owner: "x"}}); err != nil {
				t.Fatalf("release of a missing key: %v", err)
			}

			// Bytes that are not a LockRequest.
			garbage := []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}
			var reply []byte
			err = h.conn.ClientConn().Invoke(ctx, "/models.Locket/Lock", &garbage, &reply, grpc.ForceCodecV2(rawCodec{}))
			if status.Code(err) != codes.Internal {
				t.Fatalf("garbage bytes: got %v, want Internal", err)
			}

			// Clients without a certificate, or with one from another CA.
			noCert, err := tlsconfig.Client(tlsconfig.Files{CAFile: h.pki.Client.CAFile, CertFile: h.pki.Client.CertFile, KeyFile: h.pki.Client.KeyFile}, "")
			if err != nil {
				t.Fatal(err)
			}
			noCert.Certificates = nil
			expectRefused(t, h.cfg.ListenAddress, noCert)
			other, err := certs.NewAuthority("another CA")
			if err != nil {
				t.Fatal(err)
			}
			stranger, err := other.WriteLeaf(filepath.Join(t.TempDir(), "stranger"), "client", certs.LocalNames("client"))
			if err != nil {
				t.Fatal(err)
			}
			strangerCfg, err := tlsconfig.Client(tlsconfig.Files{CAFile: h.pki.Client.CAFile, CertFile: stranger.CertFile, KeyFile: stranger.KeyFile}, "")
			if err != nil {
				t.Fatal(err)
			}
			expectRefused(t, h.cfg.ListenAddress, strangerCfg)

			if after := h.state(); after != before {
				t.Fatalf("bad requests changed the state:\n before %s\n after  %s", before, after)
			}
		})

		t.Run("metrics and log level", func(t *testing.T) {
			body := httpGet(t, "http://"+h.debug+"/metrics")
			for _, want := range []string{
				`RequestsStarted{request_type="Lock"}`,
				`RequestsSucceeded{request_type="Release"}`,
				`RequestsFailed{request_type="FetchAll"} 1`,
				`RequestsInFlight{request_type="Fetch"} 0`,
				`RequestLatencyMax{request_type="Lock"}`,
				"ActiveLocks", "ActivePresences", "LocksExpired", "PresenceExpired", "DBOpenConnections",
				"DBWaitDuration", "DBWaitCount", "DBQueriesSucceeded", "DBQueriesFailed", "DBQueriesInFlight", "DBQueryDurationMax",
				"locket_heartbeat_batches_total",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			if v := metricValue(body, "DBQueriesTotal"); v < 10 {
				t.Errorf("DBQueriesTotal = %v after dozens of requests", v)
			}
			if !strings.Contains(body, "PresenceExpired 1") {
				t.Errorf("PresenceExpired should count the expired presence:\n%s", grep(body, "Expired"))
			}
			resp, err := http.Post("http://"+h.debug+"/log-level", "text/plain", strings.NewReader("error"))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("/log-level: %v %v", resp, err)
			}
			resp, err = http.Post("http://"+h.debug+"/log-level", "text/plain", strings.NewReader("loud"))
			if err != nil || resp.StatusCode != 400 {
				t.Fatalf("/log-level with a bad level: %v %v", resp, err)
			}
		})

		t.Run("restart with rows in the table", func(t *testing.T) {
			h.mustLock("restarted", "rep", locketpb.TypeCode_PRESENCE, 3)
			if code := h.proc.Stop(); code != 0 {
				t.Fatalf("SIGTERM exit code %d", code)
			}
			// Down for longer than the ttl: nobody could expire the row.
			time.Sleep(3500 * time.Millisecond)
			started := time.Now()
			h.start()
			if !h.exists("restarted") {
				t.Fatal("the row vanished while locket was down")
			}
			// After the restart the row gets a full ttl from the first scan.
			h.waitGone("restarted", 10*time.Second)
			elapsed := time.Since(started)
			t.Logf("expired %s after the restart (ttl 3s)", elapsed.Round(10*time.Millisecond))
			if elapsed < 2900*time.Millisecond || elapsed > 9*time.Second {
				t.Fatalf("expired %s after the restart, want about the ttl", elapsed)
			}
		})

		t.Run("a missing table stops the server", func(t *testing.T) {
			admin := sqltest.Open(t, db)
			if _, err := admin.ExecContext(context.Background(), "DROP TABLE locks"); err != nil {
				t.Fatal(err)
			}
			_, err := h.conn.Fetch(context.Background(), &locketpb.FetchRequest{Key: "bbs"})
			expectStatus(t, err, codes.Unknown, "sql-unrecoverable")
			if code := h.proc.Wait(30 * time.Second); code == 0 {
				t.Fatal("locket exited 0 after an unrecoverable error")
			}
		})
	})
}

func expectStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != code || s.Message() != msg {
		t.Fatalf("got %v, want %v %q", err, code, msg)
	}
}

// expectRefused checks that a client with cfg cannot complete a call.
func expectRefused(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = locketpb.NewLocketClient(cc).Lock(ctx, &locketpb.LockRequest{
		Resource: &locketpb.Resource{Key: "bbs", Owner: "stranger", TypeCode: locketpb.TypeCode_LOCK}, TtlInSeconds: 5,
	})
	if err == nil {
		t.Fatal("the call succeeded")
	}
	if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
		t.Fatalf("got %v, want the connection refused", err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue reads an unlabelled metric from Prometheus text.
func metricValue(body, name string) float64 {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pki := lockettest.NewPKI(t)
	valid := func(extra string) string {
		return fmt.Sprintf(`{"listen_address":"127.0.0.1:0","ca_file":%q,"cert_file":%q,"key_file":%q,
			"database_driver":"sqlite","database_connection_string":%q%s}`,
			pki.Server.CAFile, pki.Server.CertFile, pki.Server.KeyFile, filepath.Join(dir, "l.db"), extra)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no config", nil, "no config file given"},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.json")}, "no such file"},
		{"invalid json", []string{"-config", write("bad.json", `{"listen_address": }`)}, "invalid character"},
		{"wrong type", []string{"-config", write("type.json", `{"listen_address": 8891}`)}, `key "listen_address"`},
		{"unknown driver", []string{"-config", write("driver.json", strings.Replace(valid(""), `"sqlite"`, `"oracle"`, 1))}, "oracle"},
		{"no listen address", []string{"-config", write("listen.json", strings.Replace(valid(""), `"127.0.0.1:0"`, `""`, 1))}, "listen_address is required"},
		{"bad log level", []string{"-config", write("level.json", valid(`,"log_level":"loud"`))}, "unknown log level"},
		{"bad duration", []string{"-config", write("dur.json", valid(`,"db_operation_timeout":"soon"`))}, "soon"},
		{"bad time format", []string{"-config", write("tf.json", valid(`,"time_format":"iso"`))}, "TimeFormat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := daemontest.Start(t, "locket", locketBin, tc.args...)
			if code := p.Wait(30 * time.Second); code != daemonExitInvalidConfig {
				t.Fatalf("exit code %d, want %d; stderr %s", code, daemonExitInvalidConfig, p.Stderr())
			}
			if !strings.Contains(p.Stderr(), "invalid-config-file") || !strings.Contains(p.Stderr(), tc.want) {
				t.Fatalf("stderr %q lacks %q", p.Stderr(), tc.want)
			}
			if strings.Contains(p.Stderr(), "panic") || strings.Contains(p.Stderr(), "goroutine ") {
				t.Fatalf("locket panicked: %s", p.Stderr())
			}
		})
	}

	t.Run("unreachable database", func(t *testing.T) {
		cfg := strings.Replace(valid(`,"db_connection_timeout":"2s"`), `"sqlite"`, `"mysql"`, 1)
		cfg = strings.Replace(cfg, filepath.Join(dir, "l.db"), "root@tcp(127.0.0.1:1)/locket", 1)
		p := daemontest.Start(t, "locket", locketBin, "-config", write("unreachable.json", cfg))
		if code := p.Wait(60 * time.Second); code == 0 {
			t.Fatal("locket exited 0 without a database")
		}
		if strings.Contains(p.Stderr(), "panic") {
			t.Fatalf("locket panicked: %s", p.Stderr())
		}
	})
}

const daemonExitInvalidConfig = 2

// rawCodec sends and receives bytes as they are, under the proto content
// subtype, to put bytes on the wire that are not a valid message.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, errors.New("rawCodec: want *[]byte")
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return errors.New("rawCodec: want *[]byte")
	}
	*b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
