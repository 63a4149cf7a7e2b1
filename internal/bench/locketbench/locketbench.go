// Package locketbench is the `diego-bench locket` scenario: many cells
// holding presences and a few daemons holding locks, refreshing them the way
// the real runners do, against a locket server on a real database. It
// reports the refresh latency and the database write rate.
package locketbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Options shape the scenario.
type Options struct {
	DB        sqldb.Config
	Presences int           // cells holding a presence
	TTL       int64         // seconds
	Interval  time.Duration // presence refresh interval (the rep's 5 s)
	Duration  time.Duration // measured steady state, after one warm-up interval
	Conns     int           // client connections the holders share
	Listen    string        // locket listen address
}

// DefaultOptions is 10,000 presences with the reference's 15 s TTL and
// 5 s refresh, measured for a minute.
func DefaultOptions() Options {
	return Options{Presences: 10000, TTL: 15, Interval: 5 * time.Second, Duration: time.Minute, Conns: 50, Listen: "127.0.0.1:0"}
}

// lockHolders are the daemons that hold locks in a cluster, with their
// refresh intervals (BBS from its config default, the others hard-coded).
var lockHolders = []struct {
	key      string
	interval time.Duration
}{
	{"bbs", 5 * time.Second},
	{"auctioneer", time.Second},
	{"route_emitter", time.Second},
}

type holder struct {
	res      *locketpb.Resource
	interval time.Duration
	phase    time.Duration
	conn     locketpb.LocketClient
	presence bool
}

type sample struct {
	lat      report.Latencies
	failures int
	errors   map[string]int
}

func (s *sample) fail(err error) {
	s.failures++
	if s.errors == nil {
		s.errors = map[string]int{}
	}
	s.errors[status.Convert(err).Message()]++
}

func (s *sample) merge(o *sample) {
	s.lat.Merge(&o.lat)
	s.failures += o.failures
	for k, v := range o.errors {
		if s.errors == nil {
			s.errors = map[string]int{}
		}
		s.errors[k] += v
	}
}

// Run runs the scenario and writes the table and RESULT line to out.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "locketbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca, err := certs.NewAuthority("locketbench CA")
	if err != nil {
		return err
	}
	srvCert, err := ca.WriteLeaf(dir, "server", certs.LocalNames("locket"))
	if err != nil {
		return err
	}
	cliCert, err := ca.WriteLeaf(dir, "client", certs.LocalNames("client"))
	if err != nil {
		return err
	}

	cfg := daemon.DefaultConfig()
	cfg.ListenAddress = opts.Listen
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = srvCert.CAFile, srvCert.CertFile, srvCert.KeyFile
	cfg.Config = opts.DB
	if cfg.MaxOpenConnections == 0 {
		cfg.MaxOpenConnections = 200 // the BOSH default
	}
	logger := lager.NewLogger("locketbench")
	logFile, err := os.Create(filepath.Join(dir, "locket.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	sink := lager.NewReconfigurableSink(lager.NewWriterSink(logFile, lager.DEBUG), lager.ERROR)
	logger.RegisterSink(sink)
	l, err := daemon.New(logger, sink, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	proc := ifrit.Invoke(grouper.NewOrdered(os.Interrupt, l.Members))
	defer func() {
		proc.Signal(os.Interrupt)
		<-proc.Wait()
	}()
	addr := (<-l.Listening).String()

	conns := make([]*client.Conn, max(opts.Conns, 1))
	for i := range conns {
		c, err := client.Dial(ctx, client.Config{LocketAddress: addr, LocketCACertFile: cliCert.CAFile, LocketClientCertFile: cliCert.CertFile, LocketClientKeyFile: cliCert.KeyFile})
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}

	var holders []holder
	for i := 0; i < opts.Presences; i++ {
		holders = append(holders, holder{
			res:      &locketpb.Resource{Key: fmt.Sprintf("cell-%05d", i), Owner: fmt.Sprintf("rep-%05d", i), Value: cellPresence(i), TypeCode: locketpb.TypeCode_PRESENCE},
			interval: opts.Interval,
			phase:    time.Duration(int64(opts.Interval) * int64(i) / int64(max(opts.Presences, 1))),
			conn:     conns[i%len(conns)],
			presence: true,
		})
	}
	for i, h := range lockHolders {
		holders = append(holders, holder{
			res:      &locketpb.Resource{Key: h.key, Owner: h.key + "-owner", TypeCode: locketpb.TypeCode_LOCK},
			interval: h.interval,
			conn:     conns[i%len(conns)],
		})
	}

	_, haveWrites := dbWrites(ctx, l.DB)
	start := time.Now()
	warmEnd := start.Add(opts.Interval)
	end := warmEnd.Add(opts.Duration)

	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var presenceRes, lockRes, claimRes sample
	var mu sync.Mutex
	var lost atomic.Int64
	var wg sync.WaitGroup
	var writesAtWarm writes
	var warmOnce sync.Once
	warmTimer := time.AfterFunc(time.Until(warmEnd), func() {
		warmOnce.Do(func() { writesAtWarm, _ = dbWrites(ctx, l.DB) })
	})
	defer warmTimer.Stop()

	for _, h := range holders {
		wg.Add(1)
		go func(h holder) {
			defer wg.Done()
			var mine, claims sample
			timer := time.NewTimer(h.phase)
			defer timer.Stop()
			first, held := true, false
			req := &locketpb.LockRequest{Resource: h.res, TtlInSeconds: opts.TTL}
			for {
				select {
				case <-runCtx.Done():
					mu.Lock()
					if h.presence {
						presenceRes.merge(&mine)
					} else {
						lockRes.merge(&mine)
					}
					claimRes.merge(&claims)
					mu.Unlock()
					return
				case <-timer.C:
				}
				// A call in flight when the run ends is allowed to finish.
				callCtx, callCancel := context.WithTimeout(ctx, h.interval)
				t0 := time.Now()
				_, err := h.conn.Lock(callCtx, req, grpc.WaitForReady(true))
				d := time.Since(t0)
				callCancel()
				switch {
				case t0.After(end):
				case first:
					claims.lat.Add(d)
					if err != nil {
						claims.fail(err)
					}
				case t0.After(warmEnd):
					mine.lat.Add(d)
					if err != nil {
						mine.fail(err)
					}
				}
				if err == nil {
					held = true
				} else if held && !t0.After(end) {
					lost.Add(1)
					held = false
				}
				first = false
				timer.Reset(h.interval)
			}
		}(h)
	}
	wg.Wait()
	elapsed := time.Since(warmEnd)
	writesAfter, _ := dbWrites(ctx, l.DB)

	stillThere := 0
	if resp, err := conns[0].FetchAll(ctx, &locketpb.FetchAllRequest{TypeCode: locketpb.TypeCode_PRESENCE}); err == nil {
		stillThere = len(resp.Resources)
	}

	steadyRate := float64(presenceRes.lat.Count()+lockRes.lat.Count()) / elapsed.Seconds()
	var stmtsPerSec, rowsPerSec float64
	if haveWrites {
		stmtsPerSec = float64(writesAfter.statements-writesAtWarm.statements) / elapsed.Seconds()
		rowsPerSec = float64(writesAfter.rows-writesAtWarm.rows) / elapsed.Seconds()
	}

	t := report.Table{
		Title:  fmt.Sprintf("locket: %d presences (ttl %ds, refresh %s) + %d locks on %s, %d client connections, %s measured", opts.Presences, opts.TTL, opts.Interval, len(lockHolders), opts.DB.DriverName, len(conns), elapsed.Round(time.Second)),
		Header: []string{"requests", "count", "failed", "p50", "p99", "max"},
	}
	t.Row("initial claims", claimRes.lat.Count(), claimRes.failures, claimRes.lat.Percentile(50), claimRes.lat.Percentile(99), claimRes.lat.Max())
	t.Row("presence refresh", presenceRes.lat.Count(), presenceRes.failures, presenceRes.lat.Percentile(50), presenceRes.lat.Percentile(99), presenceRes.lat.Max())
	t.Row("lock refresh", lockRes.lat.Count(), lockRes.failures, lockRes.lat.Percentile(50), lockRes.lat.Percentile(99), lockRes.lat.Max())
	t.Print(out)
	fmt.Fprintf(out, "\nsteady refreshes: %.0f/s   database writes: %s   presences lost: %d   presences present at the end: %d/%d\n",
		steadyRate, writesLabel(haveWrites, stmtsPerSec, rowsPerSec), lost.Load(), stillThere, opts.Presences)
	for _, smp := range []*sample{&claimRes, &presenceRes, &lockRes} {
		for msg, n := range smp.errors {
			fmt.Fprintf(out, "error: %d x %s\n", n, msg)
		}
	}
	verdict := "met"
	if presenceRes.lat.Percentile(99) > 20*time.Millisecond {
		verdict = "missed"
	}
	fmt.Fprintf(out, "target p99 <= 20 ms: %s\n", verdict)

	return report.Result(out, "locket", map[string]any{
		"presences":                 opts.Presences,
		"locks":                     len(lockHolders),
		"driver":                    opts.DB.DriverName,
		"measured_s":                elapsed.Seconds(),
		"refresh_p50_ms":            report.Ms(presenceRes.lat.Percentile(50)),
		"refresh_p99_ms":            report.Ms(presenceRes.lat.Percentile(99)),
		"refresh_max_ms":            report.Ms(presenceRes.lat.Max()),
		"lock_refresh_p99_ms":       report.Ms(lockRes.lat.Percentile(99)),
		"claim_p99_ms":              report.Ms(claimRes.lat.Percentile(99)),
		"refreshes_per_s":           steadyRate,
		"db_rows_written_per_s":     rowsPerSec,
		"db_write_statements_per_s": stmtsPerSec,
		"failed":                    presenceRes.failures + lockRes.failures + claimRes.failures,
		"presences_lost":            lost.Load(),
		"presences_present":         stillThere,
		"target_p99_ms":             20,
		"target":                    verdict,
	})
}

func writesLabel(ok bool, stmts, rows float64) string {
	if !ok {
		return "n/a (MySQL/MariaDB only)"
	}
	return fmt.Sprintf("%.0f rows/s in %.0f statements/s", rows, stmts)
}

// writes are MySQL's cumulative counts of write statements and rows written.
type writes struct{ statements, rows int64 }

// dbWrites reads them; ok is false on other databases.
func dbWrites(ctx context.Context, db *sqldb.DB) (w writes, ok bool) {
	if db.Flavor() != sqldb.MySQL {
		return w, false
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert', 'Com_update', 'Com_delete', 'Handler_write', 'Handler_update', 'Handler_delete')")
	if err != nil {
		return w, false
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return w, false
		}
		n, _ := strconv.ParseInt(value, 10, 64)
		if strings.HasPrefix(name, "Com_") {
			w.statements += n
		} else {
			w.rows += n
		}
	}
	return w, rows.Err() == nil
}

// cellPresence is a realistic CellPresence JSON value of about 500 bytes.
func cellPresence(i int) string {
	return fmt.Sprintf(`{"cell_id":"cell-%05d","rep_address":"http://10.0.%d.%d:1800","zone":"z%d","capacity":{"memory_mb":65536,"disk_mb":204800,"containers":250},"rootfs_provider_list":[{"name":"preloaded","properties":["cflinuxfs4"]},{"name":"preloaded+layer","properties":["cflinuxfs4"]},{"name":"docker"}],"rep_url":"https://cell-%05d.cell.service.cf.internal:1801","annotations":{}}`,
		i, i/250, i%250, i%3+1, i)
}
