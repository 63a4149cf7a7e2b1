package bbsbench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/diego-go/diego/internal/bench/report"
)

// ConvergenceConfig is the convergence scenario: LRP pass times on an idle
// BBS, the time from a cell's presence expiring to its instances being
// requested again from the auctioneer, and pass times while every cell
// runs its bulk loop (bbs-writes' load).
type ConvergenceConfig struct {
	Config
	IdlePasses int           // idle passes to measure
	LoadPasses int           // passes to measure under load
	LoadMax    time.Duration // give up waiting for load passes after this
	Writes     WritesConfig  // the bulk loop's settings
}

// DefaultConvergenceConfig is the issue's: 200,000 actual LRPs, passes
// every 30 s.
func DefaultConvergenceConfig() ConvergenceConfig {
	return ConvergenceConfig{Config: DefaultConfig(), IdlePasses: 3, LoadPasses: 2, LoadMax: 6 * time.Minute, Writes: DefaultWritesConfig()}
}

// Where each BBS says how long an LRP pass took: ours on /metrics
// (ConvergenceLRPRuns and ConvergenceLRPDuration, seconds, read when the
// count moves) and in its log; the reference only in its log (it sends
// its metrics to loggregator), as the span between these two lines.
const (
	refPassStarted = "bbs.executing-convergence.converge-lrps-started"
	refPassDone    = "bbs.executing-convergence.converge-lrps-done"
	oursPassDone   = "bbs.converger.converge-lrps.done"
)

// RunConvergence runs the scenario and prints the table and the RESULT.
func RunConvergence(ctx context.Context, cfg ConvergenceConfig, progress func(string, ...any)) error {
	var runs []Run
	for _, target := range cfg.Targets() {
		runs = append(runs, convergenceOnce(ctx, cfg, target, progress))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	f := cfg.Fleet
	printRuns(cfg.Out, fmt.Sprintf("convergence: %d actual LRPs on %d cells, converge_repeat_interval %s, MariaDB, encryption on", f.Total(), f.Cells, cfg.ConvergeInterval), runs)
	res := resultFigures(runs)
	res["lrps"], res["instances"], res["cells"], res["interval_s"] = f.LRPs, f.Instances, f.Cells, cfg.ConvergeInterval.Seconds()
	return report.Result(cfg.Out, "convergence", res)
}

// passWatch collects the LRP passes of one BBS as spans.
type passWatch struct {
	env       *Env
	reference bool
	cancel    context.CancelFunc
	done      chan struct{}

	mu    sync.Mutex
	spans []Span // ours: from /metrics
}

func watchPasses(env *Env) *passWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &passWatch{env: env, reference: env.Target.Name == "reference", cancel: cancel, done: make(chan struct{})}
	if w.reference {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		last := 0.0
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m, err := Metrics(ctx, env.DebugURL()+"/metrics")
			if err != nil {
				continue
			}
			if runs := m["ConvergenceLRPRuns"]; runs > last {
				last = runs
				end := time.Now()
				d := time.Duration(m["ConvergenceLRPDuration"] * float64(time.Second))
				w.mu.Lock()
				w.spans = append(w.spans, Span{Start: end.Add(-d), End: end})
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// Passes returns the finished passes and, if one is running, since when
// (zero if none is known to run).
func (w *passWatch) Passes() ([]Span, time.Time) {
	if w.reference {
		spans, err := logSpans(w.env.BBS.LogPath, refPassStarted, refPassDone)
		if err != nil || len(spans) == 0 {
			return nil, time.Time{}
		}
		if last := spans[len(spans)-1]; last.End.IsZero() {
			return spans[:len(spans)-1], last.Start
		}
		return spans, time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Span(nil), w.spans...), time.Time{}
}

func (w *passWatch) Stop() {
	w.cancel()
	<-w.done
}

// waitPasses waits until n passes that started at or after since have
// ended, or until the deadline; it returns those passes and, if one was
// still running at the deadline, since when.
func (w *passWatch) waitPasses(ctx context.Context, since time.Time, n int, deadline time.Time) ([]Span, time.Time) {
	for {
		all, running := w.Passes()
		var got []Span
		for _, s := range all {
			if !s.Start.Before(since) {
				got = append(got, s)
			}
		}
		if len(got) >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return got, running
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func convergenceOnce(ctx context.Context, cfg ConvergenceConfig, target Target, progress func(string, ...any)) (run Run) {
	run.Target = target
	f := cfg.Fleet
	env, err := StartEnv(ctx, cfg.Config, target, progress)
	if err != nil {
		run.Err = err
		return run
	}
	defer env.Close()
	w := watchPasses(env)
	defer w.Stop()

	progress("%s: waiting for %d idle passes (every %s)", target.Name, cfg.IdlePasses, cfg.ConvergeInterval)
	cpu := env.CPU.Sample()
	idle, _ := w.waitPasses(ctx, time.Time{}, cfg.IdlePasses, time.Now().Add(time.Duration(cfg.IdlePasses+1)*(cfg.ConvergeInterval+time.Minute)))
	run.note("idle: CPU %s", env.CPU.Since(cpu))
	if len(idle) == 0 {
		run.missing("idle_pass_s", "LRP pass, idle (median)", "s", Lower, "<= 1 s")
	} else {
		d := durations(idle)
		run.atMost("idle_pass_s", "LRP pass, idle (median)", "s", d[len(d)/2].Seconds(), Lower, 1)
		run.fig("idle_pass_max_s", "LRP pass, idle (slowest)", "s", d[len(d)-1].Seconds(), Lower)
		run.note("idle passes: %s", spansText(idle))
	}
	if !w.reference {
		if b := oursBreakdown(env.BBS.LogPath); b != "" {
			run.note("our last idle pass: %s", b)
		}
	}

	vanished := f.Cells - 1
	vanishedCell(ctx, &run, env, f, vanished, progress)

	if cfg.LoadPasses > 0 {
		loadPhase(ctx, &run, env, w, cfg, vanished, progress)
	}
	_, peak := env.Memory()
	run.fig("peak_rss_mib", "BBS peak RSS (VmHWM)", "MiB", mib(peak), Lower)
	return run
}

// vanishedCell stops refreshing cell c's presence and measures from the
// moment locket no longer has it to the moment the fake auctioneer has
// been asked for every one of its instances.
func vanishedCell(ctx context.Context, run *Run, env *Env, f Fleet, c int, progress func(string, ...any)) {
	progress("%s: cell %s stops refreshing its presence", env.Target.Name, CellID(c))
	var mine [][2]int
	for n := c; n < f.Total(); n += f.Cells {
		mine = append(mine, [2]int{n / f.Instances, n % f.Instances})
	}
	last := env.Cells.Stop(c)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	gone, err := env.Cells.WaitGone(wctx, c)
	if err != nil {
		run.missing("vanished_cell_s", "vanished cell: expiry -> all instances requested", "s", Lower, "<= 5 s")
		run.note("vanished cell: the presence did not expire: %v", err)
		return
	}
	run.note("vanished cell: presence expired %.1f s after its last refresh", gone.Sub(last).Seconds())
	deadline := gone.Add(3*env.Cfg.ConvergeInterval + 5*time.Minute)
	for {
		var latest time.Time
		all := true
		for _, inst := range mine {
			t, ok := env.Auctioneer.Requested(ProcessGUID(inst[0]), inst[1])
			if !ok {
				all = false
				break
			}
			if t.After(latest) {
				latest = t
			}
		}
		if all {
			run.atMost("vanished_cell_s", "vanished cell: expiry -> all instances requested", "s", latest.Sub(gone).Seconds(), Lower, 5)
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			run.missing("vanished_cell_s", "vanished cell: expiry -> all instances requested", "s", Lower, "<= 5 s")
			run.note("vanished cell: its %d instances were not all requested within %s", len(mine), deadline.Sub(gone))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadPhase runs every other cell's bulk loop until LoadPasses passes that
// started under load have ended (or LoadMax).
func loadPhase(ctx context.Context, run *Run, env *Env, w *passWatch, cfg ConvergenceConfig, skip int, progress func(string, ...any)) {
	progress("%s: every cell's bulk loop runs; waiting for %d passes (at most %s)", env.Target.Name, cfg.LoadPasses, cfg.LoadMax)
	clients, err := env.newClients(cfg.Writes.BulkClients, requestTimeout)
	if err != nil {
		run.note("load: %v", err)
		return
	}
	defer closeClients(clients)
	lctx, stopLoad := context.WithCancel(ctx)
	var b bulk
	inFlight, capped := connectionBudget(cfg.Writes.BulkInFlight)
	if capped != "" {
		run.note("load: %s", capped)
	}
	loadDone := make(chan struct{})
	start := time.Now()
	cpu := env.CPU.Sample()
	go func() {
		defer close(loadDone)
		bulkLoops(lctx, clients, cfg.Fleet, cfg.Writes.BulkInterval, cfg.LoadMax, inFlight, &b, map[int]bool{skip: true})
	}()
	got, running := w.waitPasses(ctx, start, cfg.LoadPasses, start.Add(cfg.LoadMax))
	stopLoad()
	<-loadDone
	run.note("load: CPU %s", env.CPU.Since(cpu))
	run.note("load: %d bulk-loop starts answered (%.0f/s), %d failed or over 10 s", b.starts.Count()-b.starts.Failed(),
		float64(b.starts.Count()-b.starts.Failed())/time.Since(start).Seconds(), b.starts.Failed()+b.starts.Slow())
	switch {
	case len(got) > 0:
		d := durations(got)
		run.atMost("loaded_pass_s", "LRP pass under bulk-loop load (median)", "s", d[len(d)/2].Seconds(), Lower, 2)
		run.fig("loaded_pass_max_s", "LRP pass under bulk-loop load (slowest)", "s", d[len(d)-1].Seconds(), Lower)
		run.note("passes under load: %s", spansText(got))
	case !running.IsZero():
		// A pass was still running: report how long it had run, a lower bound.
		v := time.Since(running).Seconds()
		run.add(Figure{Key: "loaded_pass_s", Label: "LRP pass under bulk-loop load (unfinished, at least)", Unit: "s", Value: v, Better: Lower, Target: "<= 2 s"})
		run.note("load: no pass finished within %s; one had been running for %.0f s", cfg.LoadMax, v)
	default:
		run.missing("loaded_pass_s", "LRP pass under bulk-loop load (median)", "s", Lower, "<= 2 s")
	}
	if !w.reference {
		if b := oursBreakdown(env.BBS.LogPath); b != "" {
			run.note("our last pass under load: %s", b)
		}
	}
}

func durations(spans []Span) []time.Duration {
	d := make([]time.Duration, len(spans))
	for i, s := range spans {
		d[i] = s.Duration()
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

func spansText(spans []Span) string {
	var parts []string
	for _, s := range spans {
		parts = append(parts, fmt.Sprintf("%.2fs", s.Duration().Seconds()))
	}
	return strings.Join(parts, ", ")
}

// oursBreakdown is the load/plan/apply split our BBS logs for its last
// LRP pass.
func oursBreakdown(logPath string) string {
	l, ok := lastLogLine(logPath, oursPassDone)
	if !ok {
		return ""
	}
	var parts []string
	for _, k := range []string{"duration", "load", "plan", "apply", "actual_rows", "writes", "auctioned"} {
		if v, ok := l.Data[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", k, v))
		}
	}
	return strings.Join(parts, ", ")
}
