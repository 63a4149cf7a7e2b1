package main_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"github.com/diego-go/diego/internal/testutil/daemontest"
	"github.com/diego-go/diego/internal/tlsconfig"
)

func desiredLRP(guid string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 256, DiskMb: 512, LogGuid: guid,
		Action:     &models.Action{RunAction: &models.RunAction{Path: "/bin/sh", Args: []string{"-c", "sleep 1000"}, User: "vcap"}},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
}

func TestBBSDaemon(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db sqldb.Config) {
		c := newCluster(t)
		cfg := c.config(db, "bbs-0", testKeys)
		cfg.MaxRequestBodyBytes = 64 << 10
		c.start(cfg)
		client := c.clientFor(cfg)
		ctx := ctxT(t)

		if !client.Ping(ctx) {
			t.Fatal("ping failed")
		}
		events, err := client.SubscribeToInstanceEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer events.Close()

		// A client's modification tag is not the server's business: the
		// stored LRP gets a fresh epoch at index 0.
		lrp := desiredLRP("app-1", 2)
		lrp.ModificationTag = &models.ModificationTag{Epoch: "client-made", Index: 41}
		if err := client.DesireLRP(ctx, lrp); err != nil {
			t.Fatal(err)
		}
		got, err := client.DesiredLRPByProcessGuid(ctx, "app-1")
		if err != nil {
			t.Fatal(err)
		}
		if tag := got.GetModificationTag(); tag.GetEpoch() == "client-made" || tag.GetEpoch() == "" || tag.GetIndex() != 0 {
			t.Fatalf("stored modification tag %v", tag)
		}
		// The stream merges the desired and the instance hubs, so the
		// desired event may come after the instances' created events (as in
		// the reference); it comes among the first three.
		created := false
		for range 3 {
			ev, err := events.Next()
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			if ev.EventType() == models.EventTypeDesiredLRPCreated {
				created = true
				break
			}
			if ev.EventType() != models.EventTypeActualLRPInstanceCreated {
				t.Fatalf("unexpected event %v", ev)
			}
		}
		if !created {
			t.Fatal("no desired LRP created event among the first three")
		}
		actuals, err := client.ActualLRPs(ctx, bbsclient.ActualLRPFilter{ProcessGuid: "app-1"})
		if err != nil || len(actuals) != 2 {
			t.Fatalf("actual LRPs %v, %v", actuals, err)
		}

		// Refused requests write nothing.
		before := snapshot(t, client)
		big := desiredLRP("app-big", 1)
		big.Annotation = strings.Repeat("x", 70<<10) // over the 64 KiB body limit
		expectType(t, client.DesireLRP(ctx, big), models.Error_InvalidRequest)
		long := desiredLRP("app-long", 1)
		long.Annotation = strings.Repeat("y", 10*1024+1) // over the 10 KiB annotation limit
		expectType(t, client.DesireLRP(ctx, long), models.Error_InvalidRequest)
		expectType(t, client.DesireLRP(ctx, desiredLRP("bad guid!", 1)), models.Error_InvalidRequest)
		expectType(t, client.DesireLRP(ctx, desiredLRP("app-1", 5)), models.Error_ResourceExists)
		expectType(t, client.DesireTask(ctx, "task with spaces", "d", &models.TaskDefinition{}), models.Error_InvalidRequest)
		if after := snapshot(t, client); after != before {
			t.Fatalf("refused requests changed the state:\n%s\n%s", before, after)
		}

		// Tasks: counted per cell for the metrics.
		def := &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/true", User: "vcap"}}}
		if err := client.DesireTask(ctx, "task-1", "cf-tasks", def); err != nil {
			t.Fatal(err)
		}
		if ok, err := client.StartTask(ctx, "task-1", "cell-7"); err != nil || !ok {
			t.Fatalf("start task: %v %v", ok, err)
		}

		metrics := get(t, "http://"+cfg.DebugAddress+"/metrics")
		for _, want := range []string{"RequestCount", "RequestLatency", "LockHeld 1", "BBSMasterElected 1", "DBOpenConnections",
			"DBQueriesTotal", "MigrationDuration", "EncryptionDuration", `TasksStarted{cell_id="cell-7"} 1`, "OpenFileDescriptors",
			`bbs_event_subscribers{hub="actual_instance"} 1`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		if body := get(t, "http://"+cfg.HealthAddress+"/any/path"); body != "" {
			t.Errorf("health answered %q", body)
		}
		expectRejected(t, cfg.ListenAddress, c, false)
		expectRejected(t, cfg.ListenAddress, c, true)
	})
}

// snapshot summarises desired LRPs, actual LRPs and tasks.
func snapshot(t *testing.T, c *bbsclient.Client) string {
	t.Helper()
	ctx := ctxT(t)
	d, err := c.DesiredLRPs(ctx, bbsclient.DesiredLRPFilter{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.ActualLRPs(ctx, bbsclient.ActualLRPFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.Tasks(ctx, bbsclient.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.GetProcessGuid() + "/" + x.GetModificationTag().GetEpoch() + " ")
	}
	for _, x := range a {
		b.WriteString(x.GetActualLrpKey().GetProcessGuid() + "/" + x.GetState() + " ")
	}
	for _, x := range ts {
		b.WriteString(x.GetTaskGuid() + " ")
	}
	return b.String()
}

func expectType(t *testing.T, err error, typ models.Error_Type) {
	t.Helper()
	e := models.ConvertError(err)
	if e == nil || e.GetType() != typ {
		t.Fatalf("got %v, want %v", err, typ)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(b)
}

// expectRejected checks that a client without a certificate, or with one
// from another CA, gets no answer.
func expectRejected(t *testing.T, addr string, c *cluster, stranger bool) {
	t.Helper()
	cfg, err := tlsconfig.Client(tlsconfig.Files{CAFile: c.client.CAFile, CertFile: c.client.CertFile, KeyFile: c.client.KeyFile}, "")
	if err != nil {
		t.Fatal(err)
	}
	if stranger {
		other, err := certs.NewAuthority("another CA")
		if err != nil {
			t.Fatal(err)
		}
		p, err := other.WriteLeaf(filepath.Join(t.TempDir(), "stranger"), "client", certs.LocalNames("client"))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	} else {
		cfg.Certificates = nil
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	resp, err := hc.Post("https://"+addr+"/v1/ping", "application/x-protobuf", bytes.NewReader(nil))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a client (stranger=%v) got HTTP %d", stranger, resp.StatusCode)
	}
}

// TestStandbyTakesOver: a second BBS waits on the lock with its API port
// closed, and serves once the first is killed.
func TestStandbyTakesOver(t *testing.T) {
	c := newCluster(t)
	db := sqliteDB(t)
	cfgA := c.config(db, "bbs-a", testKeys)
	cfgB := c.config(db, "bbs-b", testKeys)
	for _, cfg := range []*daemon.Config{&cfgA, &cfgB} {
		cfg.LockTTL = durationjson.Duration(3 * time.Second)
		cfg.LockRetryInterval = durationjson.Duration(500 * time.Millisecond)
	}
	a := c.start(cfgA)
	b := daemontest.Start(t, "bbs", bbsBin, "-config", daemontest.WriteConfig(t, cfgB))
	b.WaitForLog("locket-lock.started", 30*time.Second)

	// The standby's health server answers; its API port is closed.
	get(t, "http://"+cfgB.HealthAddress+"/")
	if conn, err := net.DialTimeout("tcp", cfgB.ListenAddress, time.Second); err == nil {
		conn.Close()
		t.Fatal("the standby's API port accepts connections")
	}
	if !c.clientFor(cfgA).Ping(ctxT(t)) {
		t.Fatal("the active BBS does not answer")
	}

	killed := time.Now()
	a.Signal(syscall.SIGKILL)
	b.WaitForLog("bbs.started", 30*time.Second)
	took := time.Since(killed)
	t.Logf("standby serving %s after kill -9 of the active BBS (lock ttl 3s, retry 0.5s)", took.Round(10*time.Millisecond))
	if !c.clientFor(cfgB).Ping(ctxT(t)) {
		t.Fatal("the new active BBS does not answer")
	}
	// The lock expires a TTL after the last refresh, which the one locket
	// armed its timer for; the standby takes it at its next retry and starts
	// (2 s of slack for a loaded machine).
	if took > 3*time.Second+500*time.Millisecond+2*time.Second {
		t.Fatalf("took %s to take over", took)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]string{
		"no config":    nil,
		"missing file": {"-config", filepath.Join(dir, "nope.json")},
		"bad json":     {"-config", writeFile(t, dir, "bad.json", `{"listen_address": }`)},
		"no keys":      {"-config", writeFile(t, dir, "keys.json", `{"listen_address":"127.0.0.1:1","health_address":"127.0.0.1:2","uuid":"x"}`)},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			p := daemontest.Start(t, "bbs", bbsBin, args...)
			if code := p.Wait(30 * time.Second); code != 2 {
				t.Fatalf("exit %d, stderr %s", code, p.Stderr())
			}
			if !strings.Contains(p.Stderr(), "invalid-config-file") || strings.Contains(p.Stderr(), "goroutine ") {
				t.Fatalf("stderr %q", p.Stderr())
			}
		})
	}
}
