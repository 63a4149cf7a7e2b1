package converger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/bbstest"
	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// The S4 scenario of the performance anchors, on SQLite (or on the test
// servers with DIEGO_BENCH_DB=mysql or postgres): 100,000 desired
// LRPs of 2 instances (200,000 actual rows with real encrypted columns) on
// 1,000 cells, with 1 % of the instances missing, 1 % extra and 10 cells
// dead (about 2,000 instances to suspect and replace).
//
//	go test -run XXX -bench LRPPass -benchtime 5x ./internal/bbs/converger/
const (
	benchDesired = 100_000
	benchCells   = 1_000
	benchDead    = 10
)

type benchFx struct {
	ctx context.Context
	api *bbstest.API
}

func newBenchFx(b *testing.B) *benchFx {
	b.Helper()
	ctx := context.Background()
	opts := bbstest.Options{}
	if flavor := os.Getenv("DIEGO_BENCH_DB"); flavor != "" { // mysql or postgres, see sqltest
		opts.DB = sqltest.NewDatabase(b, sqldb.Flavor(flavor))
		opts.DB.MaxOpenConnections = 40
	}
	api := bbstest.Start(b, opts)
	f := &benchFx{ctx: ctx, api: api}
	start := time.Now()
	if err := api.DB.UpsertDomain(ctx, "cf-apps", 0); err != nil {
		b.Fatal(err)
	}
	tmpl := desiredLRP("template", "cf-apps", 2)
	tmpl.Routes = models.NewRoutes(map[string]json.RawMessage{
		"cf-router":       json.RawMessage(`[{"hostnames":["app.example.com"],"port":8080}]`),
		"internal-router": json.RawMessage(`[{"hostname":"app.apps.internal"}]`),
	})
	if _, err := api.DB.DesireLRP(ctx, tmpl); err != nil {
		b.Fatal(err)
	}
	in := db.RunningInstance{
		InstanceKey:    &models.ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "cell-0000"},
		NetInfo:        &models.ActualLRPNetInfo{Address: "10.0.0.1", InstanceAddress: "10.255.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}},
		InternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "app.apps.internal"}},
		MetricTags:     map[string]string{"source_id": "template"},
	}
	if _, err := api.DB.StartActualLRP(ctx, key("template", 0, "cf-apps"), in); err != nil {
		b.Fatal(err)
	}
	f.copyDesired(b)
	f.copyActual(b)
	f.exec(b, "DELETE FROM actual_lrps WHERE process_guid = 'template'")
	f.exec(b, "DELETE FROM desired_lrps WHERE process_guid = 'template'")
	f.exec(b, "CREATE TABLE actual_pristine AS SELECT * FROM actual_lrps")
	for i := range benchCells - benchDead {
		api.Cells.Set(bbstest.Cell(fmt.Sprintf("cell-%04d", i), "z1"))
	}
	var rows int
	if err := api.DB.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM actual_lrps").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d desired LRPs and %d actual rows in %s", benchDesired, rows, time.Since(start).Round(time.Millisecond))
	return f
}

// copyDesired copies the template's row into benchDesired desired LRPs.
func (f *benchFx) copyDesired(b *testing.B) {
	b.Helper()
	const cols = "domain, log_guid, annotation, instances, memory_mb, disk_mb, rootfs, routes, volume_placement, " +
		"run_info, placement_tags, max_pids, metric_tags, update_strategy"
	tmpl := f.templateRow(b, "SELECT "+cols+" FROM desired_lrps WHERE process_guid = 'template'", 14)
	f.insertRows(b, "desired_lrps", "process_guid, modification_tag_epoch, modification_tag_index, "+cols, benchDesired,
		func(i int) []any {
			return append([]any{fmt.Sprintf("lrp-%06d", i), fmt.Sprintf("depoch-%06d", i), 0}, tmpl...)
		})
}

// copyActual copies the template's instance into two instances of each
// desired LRP, on benchCells cells, leaving out index 1 of every 50th LRP
// (1 % missing) and adding an index 2 to every 50th, shifted by 25 (1 %
// extra).
func (f *benchFx) copyActual(b *testing.B) {
	b.Helper()
	const cols = "domain, state, placement_error, since, net_info, crash_count, crash_reason, expire_time, presence, " +
		"internal_routes, metric_tags, routable, availability_zone, evacuating"
	tmpl := f.templateRow(b, "SELECT "+cols+" FROM actual_lrps WHERE process_guid = 'template'", 14)
	type slot struct{ i, x int }
	var slots []slot
	for i := range benchDesired {
		slots = append(slots, slot{i, 0})
		if i%50 != 0 {
			slots = append(slots, slot{i, 1})
		}
		if i%50 == 25 {
			slots = append(slots, slot{i, 2})
		}
	}
	f.insertRows(b, "actual_lrps", "process_guid, instance_index, instance_guid, cell_id, modification_tag_epoch, modification_tag_index, "+cols,
		len(slots), func(n int) []any {
			s := slots[n]
			return append([]any{fmt.Sprintf("lrp-%06d", s.i), s.x, fmt.Sprintf("ig-%06d-%d", s.i, s.x),
				fmt.Sprintf("cell-%04d", (2*s.i+s.x)%benchCells), fmt.Sprintf("epoch-%06d-%d", s.i, s.x), 1}, tmpl...)
		})
}

func (f *benchFx) templateRow(b *testing.B, query string, n int) []any {
	b.Helper()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := f.api.DB.SQL().QueryRowContext(f.ctx, query).Scan(ptrs...); err != nil {
		b.Fatal(err)
	}
	return vals
}

// insertRows inserts n rows of cols, 500 a statement.
func (f *benchFx) insertRows(b *testing.B, table, cols string, n int, row func(i int) []any) {
	b.Helper()
	width := len(strings.Split(cols, ","))
	tuple := "(" + sqldb.Placeholders(width) + ")"
	for start := 0; start < n; start += 500 {
		end := min(start+500, n)
		args := make([]any, 0, (end-start)*width)
		tuples := make([]string, 0, end-start)
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
			tuples = append(tuples, tuple)
		}
		f.exec(b, "INSERT INTO "+table+" ("+cols+") VALUES "+strings.Join(tuples, ", "), args...)
	}
}

func (f *benchFx) exec(b *testing.B, query string, args ...any) {
	b.Helper()
	if _, err := f.api.DB.SQL().ExecContext(f.ctx, query, args...); err != nil {
		b.Fatalf("%s: %v", query, err)
	}
}

// restore puts the faulty state back.
func (f *benchFx) restore(b *testing.B) {
	f.exec(b, "DELETE FROM actual_lrps")
	f.exec(b, "INSERT INTO actual_lrps SELECT * FROM actual_pristine")
}

func (f *benchFx) converger(b *testing.B) *converger.Converger {
	b.Helper()
	c, err := converger.New(converger.Deps{Logger: lager.NewLogger("bench"), DB: f.api.DB, Controllers: f.api.Controllers}, converger.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func (f *benchFx) pass(b *testing.B, c *converger.Converger) converger.LRPPassSummary {
	b.Helper()
	sum, err := c.RunLRPPass(f.ctx)
	if err != nil {
		b.Fatal(err)
	}
	return sum
}

// warm runs passes until the drift memo knows every instance.
func (f *benchFx) warm(b *testing.B, c *converger.Converger) {
	b.Helper()
	for n := 0; f.pass(b, c).DriftRows > 0; n++ {
		if n > 20 {
			b.Fatal("the drift memo does not fill")
		}
	}
}

func report(b *testing.B, name string, sum converger.LRPPassSummary) {
	b.Logf("%s: %s (load %s, plan %s, apply %s): %d rows, %d desired, %d drift rows read, %d writes (%d applied, %d conflicts, %d failed), %d retirements, %d auctioned",
		name, sum.Duration.Round(time.Millisecond), sum.Load.Round(time.Millisecond), sum.Plan.Round(time.Millisecond), sum.Apply.Round(time.Millisecond),
		sum.ActualRows, sum.DesiredLRPs, sum.DriftRows, sum.Writes, sum.Applied, sum.Conflicts, sum.Failed, sum.Retirements, sum.Auctioned)
}

func BenchmarkLRPPass(b *testing.B) {
	f := newBenchFx(b)

	// The first pass after an election: faults to repair, nothing known
	// in sync (every instance's routes and tags are decrypted).
	b.Run("repair-cold", func(b *testing.B) {
		var sum converger.LRPPassSummary
		for range b.N {
			b.StopTimer()
			f.restore(b)
			c := f.converger(b)
			b.StartTimer()
			sum = f.pass(b, c)
		}
		report(b, "repair-cold", sum)
	})

	// A later pass meeting the same faults: the drift memo is warm.
	b.Run("repair-warm", func(b *testing.B) {
		c := f.converger(b)
		f.restore(b)
		f.warm(b, c)
		b.ResetTimer()
		var sum converger.LRPPassSummary
		for range b.N {
			b.StopTimer()
			f.restore(b)
			b.StartTimer()
			sum = f.pass(b, c)
		}
		report(b, "repair-warm", sum)
	})

	// The steady state: converged (the extras' reps removed them), memo
	// warm, nothing to do.
	b.Run("idle", func(b *testing.B) {
		c := f.converger(b)
		f.restore(b)
		f.pass(b, c)
		f.exec(b, "DELETE FROM actual_lrps WHERE instance_index >= 2")
		f.warm(b, c)
		b.ResetTimer()
		var sum converger.LRPPassSummary
		for range b.N {
			sum = f.pass(b, c)
		}
		report(b, "idle", sum)
	})
}

func BenchmarkLoadSnapshot(b *testing.B) {
	f := newBenchFx(b)
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			if _, err := f.api.DB.LoadLRPSnapshot(f.ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		memo := db.NewDriftMemo(0)
		s, _ := f.api.DB.LoadLRPSnapshot(f.ctx, memo)
		cells, _ := f.api.Cells.Cells(f.ctx)
		s.Cells, s.CellsKnown = converge.NewCellSet(), true
		for _, c := range cells {
			s.Cells[c.GetCellId()] = struct{}{}
		}
		memo.Record(converge.PlanLRPs(s, time.Now()).InSync)
		b.ResetTimer()
		for range b.N {
			if _, err := f.api.DB.LoadLRPSnapshot(f.ctx, memo); err != nil {
				b.Fatal(err)
			}
		}
	})
}
