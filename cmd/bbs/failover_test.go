package main_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/testutil/daemontest"
	"github.com/diego-go/diego/internal/testutil/mariadbtest"
	"github.com/tedsuo/ifrit"
)

// The failover tests run with short lock timings: a holder gives its lock
// up when no refresh was confirmed for lockTTL - lockRetry (4 s).
const (
	lockTTL   = 5 * time.Second
	lockRetry = time.Second
)

func failoverConfig(c *cluster, db sqldb.Config, uuid string) daemon.Config {
	cfg := c.config(db, uuid, testKeys)
	cfg.LockTTL = durationjson.Duration(lockTTL)
	cfg.LockRetryInterval = durationjson.Duration(lockRetry)
	return cfg
}

// lockOwner is the owner of key in the cluster's locket, "" if none.
func (c *cluster) lockOwner(key string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.locket.Dial().Fetch(ctx, &locketpb.FetchRequest{Key: key})
	if err != nil {
		return ""
	}
	return resp.GetResource().GetOwner()
}

func expectRunning(t *testing.T, p *daemontest.Process, when string) {
	t.Helper()
	select {
	case <-p.Exited():
		t.Fatalf("%s: the BBS exited", when)
	default:
	}
}

func expectClosed(t *testing.T, addr string) {
	t.Helper()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s accepts connections", addr)
	}
}

// waitForRefresh waits until the cluster's locket logged a Lock by owner
// after its first from log entries, and returns when it saw it.
func (c *cluster) waitForRefresh(owner string, from int, within time.Duration) time.Time {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		logs := c.locket.Logger.Logs()
		for _, l := range logs[min(from, len(logs)):] {
			if strings.HasSuffix(l.Message, ".lock.complete") && l.Data["owner"] == owner {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("locket served no Lock by %s within %s", owner, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLocketRestartShorterThanTheTTL: the active BBS keeps its lock, and
// serves, while locket restarts.
func TestLocketRestartShorterThanTheTTL(t *testing.T) {
	c := newCluster(t)
	cfg := failoverConfig(c, sqliteDB(t), "bbs-a")
	a := c.start(cfg)
	client := c.clientFor(cfg)
	ctx := ctxT(t)
	if err := client.DesireLRP(ctx, desiredLRP("before", 1)); err != nil {
		t.Fatal(err)
	}

	stopped := time.Now()
	c.locket.Stop()
	// The API does not need locket to serve.
	if err := client.DesireLRP(ctx, desiredLRP("during", 1)); err != nil {
		t.Fatalf("write during the locket outage: %v", err)
	}
	time.Sleep(time.Until(stopped.Add(1500 * time.Millisecond))) // hold the outage for 1.5 s
	mark := len(c.locket.Logger.Logs())
	c.locket.Restart()
	back := time.Now()
	refreshed := c.waitForRefresh("bbs-a", mark, lockTTL).Sub(back)
	expectRunning(t, a, "after the locket restart")
	if strings.Contains(a.Stdout(), "lost-lock") {
		t.Fatal("the BBS logged a lost lock")
	}
	if got := c.lockOwner(daemon.LockKey); got != "bbs-a" {
		t.Fatalf("lock owner %q after the restart, want bbs-a", got)
	}
	if err := client.DesireLRP(ctx, desiredLRP("after", 1)); err != nil {
		t.Fatalf("write after the locket restart: %v", err)
	}
	served := time.Since(back)
	t.Logf("locket down %s; the BBS kept its lock and served throughout; the restarted locket saw its refresh %s and a write was served %s after it was back (ttl %s, retry %s)",
		back.Sub(stopped).Round(time.Millisecond), refreshed.Round(time.Millisecond), served.Round(time.Millisecond), lockTTL, lockRetry)
	if served > lockTTL+lockRetry {
		t.Fatalf("served %s after locket was back", served)
	}
}

// TestLocketOutageLongerThanTheTTL: the active BBS gives its lock up before
// locket could let it expire and exits; once locket is back, the standby
// takes over, and the old active, restarted by its supervisor, is a standby.
func TestLocketOutageLongerThanTheTTL(t *testing.T) {
	c := newCluster(t)
	db := sqliteDB(t)
	cfgA, cfgB := failoverConfig(c, db, "bbs-a"), failoverConfig(c, db, "bbs-b")
	a := c.start(cfgA)
	b := daemontest.Start(t, "bbs", bbsBin, "-config", daemontest.WriteConfig(t, cfgB))
	b.WaitForLog("locket-lock.lock-held-by-another-owner", 30*time.Second)

	stopped := time.Now()
	c.locket.Stop()
	select {
	case <-a.Exited():
	case <-time.After(lockTTL + time.Second):
		t.Fatalf("the active BBS still runs %s after locket stopped", time.Since(stopped))
	}
	gaveUp := time.Since(stopped)
	if code := a.Wait(time.Second); code == 0 || !strings.Contains(a.Stdout(), "lost-lock") {
		t.Fatalf("the active BBS exited with %d without losing its lock", code)
	}
	expectClosed(t, cfgA.ListenAddress)
	expectRunning(t, b, "during the outage")
	time.Sleep(time.Until(stopped.Add(lockTTL + 500*time.Millisecond))) // hold the outage past the TTL
	c.locket.Restart()
	back := time.Now()

	// The restarted locket gives bbs-a's row a fresh TTL; the standby takes
	// the lock when it expires.
	b.WaitForLog("bbs.started", lockTTL+lockRetry+10*time.Second)
	tookOver := time.Since(back)
	if !c.clientFor(cfgB).Ping(ctxT(t)) {
		t.Fatal("the new active BBS does not answer")
	}
	if got := c.lockOwner(daemon.LockKey); got != "bbs-b" {
		t.Fatalf("lock owner %q, want bbs-b", got)
	}

	// The old active comes back as a standby.
	a2 := daemontest.Start(t, "bbs", bbsBin, "-config", daemontest.WriteConfig(t, cfgA))
	a2.WaitForLog("locket-lock.lock-held-by-another-owner", 30*time.Second)
	expectClosed(t, cfgA.ListenAddress)
	expectRunning(t, b, "after the old active came back")
	t.Logf("locket down %s; the active BBS gave its lock up and exited %s after locket stopped; the standby served %s after locket was back (ttl %s, retry %s)",
		back.Sub(stopped).Round(time.Millisecond), gaveUp.Round(time.Millisecond), tookOver.Round(time.Millisecond), lockTTL, lockRetry)
	if tookOver > lockTTL+lockRetry+2*time.Second {
		t.Fatalf("took %s to take over", tookOver)
	}
}

// call is one write of the load.
type call struct {
	guid       string
	start, end time.Time
	err        error
}

// load drives writes (desired LRPs and tasks, alternately) from a few
// goroutines and records every call.
type load struct {
	mu    sync.Mutex
	calls []call
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

var taskDef = &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/true", User: "vcap"}}}

// startLoad starts the writers; they stop at finish, or when the test ends.
func startLoad(t *testing.T, client *bbsclient.Client, writers int) *load {
	l := &load{stop: make(chan struct{})}
	t.Cleanup(func() { l.finish() })
	for w := 0; w < writers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				c := call{start: time.Now()}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if i%2 == 0 {
					c.guid = fmt.Sprintf("lrp-%d-%d", w, i)
					c.err = client.DesireLRP(ctx, desiredLRP(c.guid, 1))
				} else {
					c.guid = fmt.Sprintf("task-%d-%d", w, i)
					c.err = client.DesireTask(ctx, c.guid, "cf-tasks", taskDef)
				}
				cancel()
				c.end = time.Now()
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// waitForSuccesses waits until n calls started after since succeeded and
// returns when the first of them ended. It fails at once if the BBS exits.
func (l *load) waitForSuccesses(t *testing.T, bbs *daemontest.Process, n int, since time.Time, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var first time.Time
		ok := 0
		l.mu.Lock()
		for _, c := range l.calls {
			if c.err == nil && !c.start.Before(since) {
				if ok == 0 || c.end.Before(first) {
					first = c.end
				}
				ok++
			}
		}
		l.mu.Unlock()
		if ok >= n {
			return first
		}
		expectRunning(t, bbs, fmt.Sprintf("with %d of %d writes done", ok, n))
		if time.Now().After(deadline) {
			t.Fatalf("%d writes succeeded within %s, want %d", ok, within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish stops the writers and returns every call they made.
func (l *load) finish() []call {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.calls
}

// outage is a database restart as the clients saw it.
type outage struct {
	how       string
	down, up  time.Time // before the signal; once the server answered again
	recovered time.Time // the first write started after up succeeded
	failed    int
}

// TestMariaDBRestartUnderLoad restarts the MariaDB under a BBS and its
// locket while writes keep coming, once gracefully and once with kill -9,
// each time holding it down for 2 s: the BBS never exits and keeps its
// lock, the cell's presence survives, writes fail only during the outages
// (with errors, not hangs), service resumes by itself, and every
// acknowledged write is still there afterwards.
func TestMariaDBRestartUnderLoad(t *testing.T) {
	const (
		down           = 2 * time.Second
		requestTimeout = 10 * time.Second
	)
	m := mariadbtest.Start(t)
	c := newClusterOn(t, m.NewDatabase("locket"))
	cfg := failoverConfig(c, m.NewDatabase("bbs"), "bbs-a")
	// Locket cannot refresh the lock while its database is down; the lock
	// timings are the subject of the locket tests, so give this one room.
	cfg.LockTTL = durationjson.Duration(10 * time.Second)
	// Convergence passes run during the outages too.
	cfg.ConvergeRepeatInterval = durationjson.Duration(time.Second)
	bbs := c.start(cfg)
	client, err := bbsclient.New(bbsclient.Config{
		URL: "https://" + cfg.ListenAddress, CAFile: c.client.CAFile, CertFile: c.client.CertFile, KeyFile: c.client.KeyFile,
		Retries: 1, RequestTimeout: requestTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}

	// A cell's presence in the same locket, with the same room as the lock:
	// an outage plus a slow crash recovery can outlast a short TTL, and then
	// locket rightly expires the presence.
	rep := locketclient.NewPresenceRunner(lagertest.NewTestLogger("rep"), c.locket.Dial(),
		&locketpb.Resource{Key: "cell-1", Owner: "rep-1", Value: `{"cell_id":"cell-1"}`, TypeCode: locketpb.TypeCode_PRESENCE},
		int64(time.Duration(cfg.LockTTL)/time.Second), clock.New(), lockRetry)
	var presenceHeld atomic.Bool
	rep.OnChange = presenceHeld.Store
	presence := ifrit.Background(rep)
	defer func() {
		presence.Signal(os.Interrupt)
		<-presence.Wait()
	}()
	select {
	case <-presence.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the presence was not acquired")
	}

	l := startLoad(t, client, 4)
	var outages []*outage
	restart := func(how string, stop func()) {
		l.waitForSuccesses(t, bbs, 200, time.Now(), 20*time.Second) // under load
		o := &outage{how: how, down: time.Now()}
		stop()
		time.Sleep(time.Until(o.down.Add(down))) // hold the outage
		m.Restart()
		o.up = time.Now()
		o.recovered = l.waitForSuccesses(t, bbs, 1, o.up, 20*time.Second)
		outages = append(outages, o)
	}
	restart("graceful restart", m.Stop)
	restart("kill -9 and restart", m.Kill)
	l.waitForSuccesses(t, bbs, 200, time.Now(), 20*time.Second)
	calls := l.finish()

	expectRunning(t, bbs, "after the database restarts")
	if strings.Contains(bbs.Stdout(), "lost-lock") {
		t.Fatal("the BBS lost its lock")
	}
	if got := c.lockOwner(daemon.LockKey); got != "bbs-a" {
		t.Fatalf("lock owner %q, want bbs-a", got)
	}
	for deadline := time.Now().Add(lockTTL); !presenceHeld.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cell did not get its presence back")
		}
	}
	if got := c.lockOwner("cell-1"); got != "rep-1" {
		t.Fatalf("presence owner %q, want rep-1", got)
	}
	for _, l := range c.locket.Logger.Logs() {
		if strings.HasSuffix(l.Message, "lock-expired") {
			t.Fatalf("locket let %v expire", l.Data["key"])
		}
	}

	// Failures only during the outages, none lasting past the client
	// timeout; no committed write lost.
	acknowledged := map[string]bool{}
	kinds := map[string]int{}
	var lrpsOK, tasksOK, failures int
	var longest time.Duration
	for _, c := range calls {
		took := c.end.Sub(c.start)
		longest = max(longest, took)
		if took >= requestTimeout {
			t.Errorf("%s took %s", c.guid, took)
		}
		if c.err == nil {
			acknowledged[c.guid] = true
			if strings.HasPrefix(c.guid, "lrp-") {
				lrpsOK++
			} else {
				tasksOK++
			}
			continue
		}
		failures++
		var in *outage
		for _, o := range outages {
			if !c.end.Before(o.down) && !c.start.After(o.recovered) {
				in = o
			}
		}
		if in == nil {
			t.Errorf("%s failed outside the outages (%s to %s): %v", c.guid, c.start.Format("15:04:05.000"), c.end.Format("15:04:05.000"), c.err)
			continue
		}
		in.failed++
		kind := "transport error"
		var me *models.Error
		if errors.As(c.err, &me) {
			kind = "in-band " + me.GetType().String()
		}
		kinds[kind]++
		if kinds[kind] == 1 {
			t.Logf("first %s during the %s: %v", kind, in.how, c.err)
		}
	}
	ctx := ctxT(t)
	lrps, err := client.DesiredLRPs(ctx, bbsclient.DesiredLRPFilter{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := client.Tasks(ctx, bbsclient.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, d := range lrps {
		stored[d.GetProcessGuid()] = true
	}
	for _, task := range tasks {
		stored[task.GetTaskGuid()] = true
	}
	lost := 0
	for guid := range acknowledged {
		if !stored[guid] {
			lost++
			t.Errorf("acknowledged write %s is missing", guid)
		}
	}
	t.Logf("%d calls: %d desired LRPs and %d tasks acknowledged, %d failed %v, longest call %s; %d acknowledged writes missing",
		len(calls), lrpsOK, tasksOK, failures, kinds, longest.Round(time.Millisecond), lost)
	for _, o := range outages {
		t.Logf("%s: database down %s, writes served again %s after it answered (%s after it went down); %d writes failed",
			o.how, o.up.Sub(o.down).Round(time.Millisecond), o.recovered.Sub(o.up).Round(time.Millisecond), o.recovered.Sub(o.down).Round(time.Millisecond), o.failed)
	}
}
