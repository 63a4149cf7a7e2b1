package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/simrep"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/testutil/daemontest"
)

func desiredLRP(guid string, instances, memory int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: memory, DiskMb: 256, LogGuid: guid,
		Action:     &models.Action{RunAction: &models.RunAction{Path: "/bin/sh", Args: []string{"-c", "sleep 1000"}, User: "vcap"}},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
}

// The whole path over the wire: BBS -> auctioneer -> simulated reps, and
// failures back to the BBS.
func TestAuctioneerPlacesWhatTheBBSAsksFor(t *testing.T) {
	c := newCluster(t)
	for i, id := range []string{"cell-a", "cell-b", "cell-c"} {
		c.addRep(simrep.Config{CellID: id, CellIndex: i, Zone: "z1"})
	}
	// A cell whose rep fails /state sits every round out.
	sick := c.addRep(simrep.Config{CellID: "cell-sick", CellIndex: 3, Zone: "z1"})
	sick.FailState(503)

	cfg := c.auctioneerConfig("auctioneer-0")
	proc := c.startAuctioneer(cfg)
	ctx := ctxT(t)

	if err := c.bbs.DesireLRP(ctx, desiredLRP("app-1", 6, 256)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "six instances placed", func() (bool, string) {
		n := 0
		var where []string
		for id, rep := range c.reps {
			for _, l := range rep.LRPs() {
				n++
				where = append(where, fmt.Sprintf("%s.%d@%s", l.ProcessGuid, l.Index, id))
			}
		}
		return n == 6, strings.Join(where, " ")
	})
	seen := map[int32]bool{}
	for id, rep := range c.reps {
		lrps := rep.LRPs()
		if id == "cell-sick" {
			if len(lrps) != 0 {
				t.Errorf("the cell failing /state got %d instances", len(lrps))
			}
			continue
		}
		if len(lrps) != 2 {
			t.Errorf("%s holds %d instances, want 2 (spread)", id, len(lrps))
		}
		for _, l := range lrps {
			if l.ProcessGuid != "app-1" || l.Domain != "cf-apps" || l.MemoryMB != 256 || l.DiskMB != 256 || l.RootFs != "preloaded:cflinuxfs4" || seen[l.Index] {
				t.Errorf("%s received %+v", id, l)
			}
			seen[l.Index] = true
		}
	}

	// A task.
	def := &models.TaskDefinition{RootFs: "docker:///busybox", MemoryMb: 128, DiskMb: 64,
		Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/true", User: "vcap"}}}
	if err := c.bbs.DesireTask(ctx, "task-1", "cf-tasks", def); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the task placed", func() (bool, string) {
		for _, rep := range c.reps {
			for _, tk := range rep.Tasks() {
				if tk.TaskGuid == "task-1" && tk.Domain == "cf-tasks" && tk.MemoryMB == 128 {
					return true, ""
				}
			}
		}
		return false, "no rep holds task-1"
	})

	// An LRP that fits nowhere ends with its placement error in the BBS.
	if err := c.bbs.DesireLRP(ctx, desiredLRP("too-big", 1, 8192)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "placement_error on the actual LRP", func() (bool, string) {
		actuals, err := c.bbs.ActualLRPs(ctx, bbsclient.ActualLRPFilter{ProcessGuid: "too-big"})
		if err != nil || len(actuals) != 1 {
			return false, fmt.Sprintf("%v %v", actuals, err)
		}
		a := actuals[0]
		return a.GetState() == models.ActualLRPStateUnclaimed && a.GetPlacementError() == "insufficient resources: memory", a.String()
	})
	// A task that fits nowhere is rejected with the reason.
	if err := c.bbs.DesireTask(ctx, "task-windows", "cf-tasks", &models.TaskDefinition{RootFs: "preloaded:windows2019",
		Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/true", User: "vcap"}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "rejection reason on the task", func() (bool, string) {
		task, err := c.bbs.TaskByGuid(ctx, "task-windows")
		if err != nil {
			return false, err.Error()
		}
		return task.GetRejectionReason() == auction.MsgRootFSMismatch && task.GetRejectionCount() == 1, task.String()
	})

	metrics := get(t, "http://"+cfg.DebugAddress+"/metrics")
	for _, want := range []string{"AuctioneerLRPAuctionsStarted 6", "AuctioneerLRPAuctionsFailed 1", "AuctioneerTaskAuctionsStarted 1",
		"AuctioneerTaskAuctionsFailed 1", "AuctioneerFetchStatesDuration", "LockHeld 1", "RequestCount", "RequestLatency"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(metrics, "AuctioneerFailedCellStateRequests") || strings.Contains(metrics, "AuctioneerFailedCellStateRequests 0\n") {
		t.Errorf("/metrics does not count the failing cell's /state calls")
	}
	if code := proc.Stop(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

// Only the lock holder listens: a standby takes over when the holder stops.
func TestStandbyListensOnlyOnceItHoldsTheLock(t *testing.T) {
	c := newCluster(t)
	c.addRep(simrep.Config{CellID: "cell-a", Zone: "z1"})
	active := c.startAuctioneer(c.auctioneerConfig("auctioneer-0"))

	standbyCfg := c.auctioneerConfig("auctioneer-1")
	standbyCfg.ListenAddress = c.auctioneerAddr // same address, as behind a DNS name
	standby := daemontest.Start(t, "auctioneer", auctioneerBin, "-config", daemontest.WriteConfig(t, standbyCfg))
	standby.WaitForLog("lock-held-by-another-owner", 20*time.Second)
	if strings.Contains(standby.Stdout(), "auctioneer.started") {
		t.Fatal("the standby started without the lock")
	}

	if code := active.Stop(); code != 0 {
		t.Fatalf("active exit code %d", code)
	}
	standby.WaitForLog("auctioneer.started", 30*time.Second)
	eventually(t, 10*time.Second, "the standby listening", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", c.auctioneerAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
	ctx := ctxT(t)
	if err := c.bbs.DesireLRP(ctx, desiredLRP("app-after-failover", 1, 128)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "placed by the new holder", func() (bool, string) {
		return len(c.reps["cell-a"].LRPs()) == 1, ""
	})
	standby.Signal(syscall.SIGTERM)
	if code := standby.Wait(time.Minute); code != 0 {
		t.Errorf("standby exit code %d", code)
	}
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
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no config flag", nil, []string{"no config file given"}},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.json")}, []string{"no such file"}},
		{"malformed", []string{"-config", write("bad.json", `{"listen_address": ]}`)}, []string{"bad.json:1:"}},
		{"wrong type", []string{"-config", write("type.json", `{"cell_state_timeout": true}`)}, []string{"type.json", "duration true"}},
		{"missing keys", []string{"-config", write("empty.json", `{}`)}, []string{
			"bbs_address is required", "uuid is required", "locket_address is required", "rep_ca_cert is required",
		}},
		{"bad values", []string{"-config", write("values.json", `{"bbs_address":"http://bbs:8889","listen_address":"nope",
			"cell_state_timeout":"0s","auction_runner_workers":-1,"log_level":"loud","server_cert_file":"/x.crt"}`)}, []string{
			"want https://host:port", "listen_address", "cell_state_timeout must be positive", "auction_runner_workers must be positive",
			"log_level", "ca_cert_file is required", "server_key_file is required",
		}},
		{"unreadable certificates", []string{"-config", write("certs.json", `{"bbs_address":"https://bbs:8889","uuid":"u",
			"locket_address":"127.0.0.1:1","rep_ca_cert":"/nope/ca.crt","rep_client_cert":"/nope/c.crt","rep_client_key":"/nope/c.key"}`)}, []string{
			"rep_ca_cert, rep_client_cert, rep_client_key",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := daemontest.Start(t, "auctioneer", auctioneerBin, tc.args...)
			if code := p.Wait(30 * time.Second); code != daemon.ExitInvalidConfig {
				t.Fatalf("exit code %d, want %d; stderr %s", code, daemon.ExitInvalidConfig, p.Stderr())
			}
			stderr := p.Stderr()
			if !strings.Contains(stderr, "auctioneer: invalid-config-file:") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, stderr)
				}
			}
		})
	}
}
