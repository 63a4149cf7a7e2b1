package bbsbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/models"
)

// EventsConfig is the bbs-events scenario: one instance-event subscriber
// per cell (filtered by its cell id, as cell-local route-emitters
// subscribe) and one global subscriber, while rep-like writes run at Rate:
// a claim and a start per instance (one event each), and for one instance
// in four a repeated claim and a repeated start, which change nothing and
// must emit nothing.
type EventsConfig struct {
	Config
	Rate float64 // requests per second
	// Grace is how long to wait after the writes for the last events.
	Grace time.Duration
}

// DefaultEventsConfig is the issue's: 1,000 cell subscribers, 1,000
// writes/s.
func DefaultEventsConfig() EventsConfig {
	return EventsConfig{Config: DefaultConfig(), Rate: 1000, Grace: 10 * time.Second}
}

// RunEvents runs the scenario and prints the table and the RESULT.
func RunEvents(ctx context.Context, cfg EventsConfig, progress func(string, ...any)) error {
	var runs []Run
	for _, target := range cfg.Targets() {
		runs = append(runs, eventsOnce(ctx, cfg, target, progress))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	f := cfg.Fleet
	printRuns(cfg.Out, fmt.Sprintf("bbs-events: %d cell subscribers + 1 global, %.0f writes/s on %d actual LRPs, MariaDB, encryption on", f.Cells, cfg.Rate, f.Total()), runs)
	res := resultFigures(runs)
	res["lrps"], res["instances"], res["cells"], res["rate"] = f.LRPs, f.Instances, f.Cells, cfg.Rate
	return report.Result(cfg.Out, "bbs-events", res)
}

// eventKey names the change a state-changing write makes.
func eventKey(processGuid string, index int32, state string) string {
	return fmt.Sprintf("%s/%d/%s", processGuid, index, state)
}

// subscriber reads one stream and counts what it receives.
type subscriber struct {
	cell int // -1: global
	src  *bbsclient.EventSource

	mu          sync.Mutex
	lat         Sample // request sent -> event read
	afterAnswer Sample // answer read -> event read (0 when the event came first)
	got         map[string]int
	unexpected  int
	ended       error // the stream ended before the bench closed it
}

func (s *subscriber) read(sentAt, answeredAt *sync.Map) {
	for {
		ev, err := s.src.Next()
		now := time.Now()
		if err != nil {
			if errors.Is(err, bbsclient.ErrSourceClosed) {
				return
			}
			if errors.Is(err, events.ErrUnrecognizedEventType) {
				continue
			}
			s.mu.Lock()
			s.ended = err
			s.mu.Unlock()
			return
		}
		ch, ok := events.Message(ev).(*models.ActualLRPInstanceChangedEvent)
		s.mu.Lock()
		if !ok {
			s.unexpected++
			s.mu.Unlock()
			continue
		}
		k := eventKey(ch.GetActualLrpKey().GetProcessGuid(), ch.GetActualLrpKey().GetIndex(), ch.GetAfter().GetState())
		s.got[k]++
		s.mu.Unlock()
		if t, ok := sentAt.Load(k); ok {
			s.lat.Add(now.Sub(t.(time.Time)), nil)
		}
		if t, ok := answeredAt.Load(k); ok {
			s.afterAnswer.Add(max(0, now.Sub(t.(time.Time))), nil)
		} else {
			s.afterAnswer.Add(0, nil)
		}
	}
}

func eventsOnce(ctx context.Context, cfg EventsConfig, target Target, progress func(string, ...any)) (run Run) {
	run.Target = target
	f := cfg.Fleet
	env, err := StartEnv(ctx, cfg.Config, target, progress)
	if err != nil {
		run.Err = err
		return run
	}
	defer env.Close()
	streamClients, err := env.newClients(4, 0)
	if err != nil {
		run.Err = err
		return run
	}
	defer closeClients(streamClients)

	progress("%s: subscribing %d cell-filtered streams and a global one", target.Name, f.Cells)
	var sentAt, answeredAt sync.Map
	subs := make([]*subscriber, f.Cells+1)
	var readers sync.WaitGroup
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.src.Close()
			}
		}
		readers.Wait()
	}()
	for i := range subs {
		s := &subscriber{cell: i - 1, got: map[string]int{}}
		cl := streamClients[i%len(streamClients)]
		if s.cell < 0 {
			s.src, err = cl.SubscribeToInstanceEvents(ctx)
		} else {
			s.src, err = cl.SubscribeToInstanceEventsByCellID(ctx, CellID(s.cell))
		}
		if err != nil {
			run.Err = fmt.Errorf("subscribing: %w", err)
			return run
		}
		subs[i] = s
		readers.Add(1)
		go func() {
			defer readers.Done()
			s.read(&sentAt, &answeredAt)
		}()
	}

	clients, err := env.newClients(8, requestTimeout)
	if err != nil {
		run.Err = err
		return run
	}
	defer closeClients(clients)
	var expected sync.Map  // event key -> cell
	var uncertain sync.Map // event keys of writes that failed (maybe committed)
	var changed atomic.Int64
	c := &cycler{f: f, clients: clients, noopEvery: 4,
		before: func(lrp, index int, state string) {
			sentAt.Store(eventKey(ProcessGUID(lrp), int32(index), state), time.Now())
		},
		after: func(lrp, index int, state string, err error) {
			k := eventKey(ProcessGUID(lrp), int32(index), state)
			answeredAt.Store(k, time.Now())
			if err != nil {
				uncertain.Store(k, true)
				return
			}
			expected.Store(k, f.CellOf(lrp, index))
			changed.Add(1)
		},
	}
	progress("%s: %.0f writes/s for %s", target.Name, cfg.Rate, cfg.Duration)
	cpu := env.CPU.Sample()
	prof := StartProfile(env.DebugURL(), cfg.Duration, cfg.ProfileDir, "bbs-events-"+target.Name)
	t0 := time.Now()
	sent, _ := c.paced(ctx, newInstances(f), cfg.Rate, cfg.Duration, 5000)
	el := time.Since(t0)
	run.note("CPU %s", env.CPU.Since(cpu))
	if p := prof.Wait(); p != "" {
		run.note("%s", p)
	}

	// Expected events per subscriber: every change for the global one,
	// the changes of its cell's instances for a cell's.
	want := make([]int, len(subs))
	expected.Range(func(_, v any) bool {
		want[0]++
		want[v.(int)+1]++
		return true
	})
	deadline := time.Now().Add(cfg.Grace)
	for time.Now().Before(deadline) && !allReceived(subs, want) {
		time.Sleep(100 * time.Millisecond)
	}

	var cellLat, globalLat, cellAfter Sample
	var missing, extra, dropped, stillOpen int
	for i, s := range subs {
		s.mu.Lock()
		m, x := tally(s, &expected, &uncertain, i == 0)
		missing, extra = missing+m, x+extra
		if s.ended != nil {
			dropped++
			run.note("subscriber %d ended: %v", s.cell, s.ended)
		} else {
			stillOpen++
		}
		lat := &cellLat
		if i == 0 {
			lat = &globalLat
		}
		s.mu.Unlock()
		lat.merge(&s.lat)
		if i > 0 {
			cellAfter.merge(&s.afterAnswer)
		}
	}
	all := c.all()
	run.fig("writes_per_s", "writes sent", "/s", float64(sent)/el.Seconds(), Neutral)
	run.fig("changes", "state-changing writes answered", "", float64(changed.Load()), Neutral)
	run.fig("noop_writes", "no-op writes answered", "", float64(c.noops.Count()-c.noops.Failed()), Neutral)
	run.fig("write_p99_ms", "write p99", "ms", all.P(99), Lower)
	run.fig("cell_delivery_p50_ms", "cell subscribers: request sent -> event read p50", "ms", cellLat.P(50), Lower)
	run.atMost("cell_delivery_p99_ms", "cell subscribers: request sent -> event read p99", "ms", cellLat.P(99), Lower, 50)
	run.fig("cell_delivery_max_ms", "cell subscribers: delivery max", "ms", cellLat.P(100), Lower)
	run.fig("cell_after_answer_p99_ms", "cell subscribers: write answered -> event read p99", "ms", cellAfter.P(99), Lower)
	run.atMost("global_delivery_p99_ms", "global subscriber: delivery p99", "ms", globalLat.P(99), Lower, 50)
	run.atMost("events_missing", "events missing (all subscribers)", "", float64(missing), Neutral, 0)
	run.atMost("events_extra", "events extra or duplicated (all subscribers)", "", float64(extra), Neutral, 0)
	run.atMost("subscribers_dropped", "subscribers whose stream ended", "", float64(dropped), Neutral, 0)
	run.note("events expected: %d for the global subscriber, %d over the cell subscribers", want[0], sum(want[1:]))
	if n := all.Failed(); n > 0 {
		run.note("%d writes failed: %v", n, all.TopErrors(3))
	}
	_, peak := env.Memory()
	run.fig("peak_rss_mib", "BBS peak RSS (VmHWM)", "MiB", mib(peak), Lower)
	return run
}

func allReceived(subs []*subscriber, want []int) bool {
	for i, s := range subs {
		s.mu.Lock()
		n := 0
		for _, c := range s.got {
			n += c
		}
		s.mu.Unlock()
		if n < want[i] {
			return false
		}
	}
	return true
}

// tally compares what s received with the expected changes (those of its
// cell, or all for the global subscriber): missing ones, and extra ones
// (not expected, received twice, or events of other kinds); events of
// writes that failed client-side are neither. s.mu is held.
func tally(s *subscriber, expected, uncertain *sync.Map, global bool) (missing, extra int) {
	expected.Range(func(k, v any) bool {
		if global || v.(int) == s.cell {
			if s.got[k.(string)] == 0 {
				missing++
			}
		}
		return true
	})
	for k, n := range s.got {
		if _, maybe := uncertain.Load(k); maybe {
			continue
		}
		cell, ok := expected.Load(k)
		switch {
		case !ok || (!global && cell.(int) != s.cell):
			extra += n
		case n > 1:
			extra += n - 1
		}
	}
	return missing, extra + s.unexpected
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
