package models

import (
	"fmt"
	"testing"
	"time"
)

func TestAllowsTransitionTo(t *testing.T) {
	key := &ActualLRPKey{ProcessGuid: "pg", Index: 1, Domain: "d"}
	ik := &ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "cell"}
	other := &ActualLRPInstanceKey{InstanceGuid: "ig-2", CellId: "cell-2"}
	empty := &ActualLRPInstanceKey{}
	const (
		U = ActualLRPStateUnclaimed
		C = ActualLRPStateClaimed
		R = ActualLRPStateRunning
		X = ActualLRPStateCrashed
	)
	// For each from-state: the row's own instance key, then the expected
	// answer per target state for the same key, another key and an empty key.
	type want struct{ same, other, empty bool }
	table := []struct {
		from  string
		rowIK *ActualLRPInstanceKey
		to    map[string]want
	}{
		{U, empty, map[string]want{
			U: {true, true, true}, C: {true, true, true}, R: {true, true, true}, X: {false, false, false},
		}},
		{C, ik, map[string]want{
			U: {false, false, true}, C: {true, false, false}, R: {true, true, true}, X: {true, false, false},
		}},
		{R, ik, map[string]want{
			U: {false, false, true}, C: {true, false, false}, R: {true, false, false}, X: {true, false, false},
		}},
		{X, empty, map[string]want{
			// A crashed row has no instance key: "same" is the empty key here.
			U: {true, false, true}, C: {true, false, true}, R: {true, false, true}, X: {false, false, false},
		}},
	}
	for _, row := range table {
		lrp := &ActualLRP{ActualLrpKey: key, ActualLrpInstanceKey: row.rowIK, State: row.from}
		for _, to := range ActualLRPStates {
			w := row.to[to]
			for _, c := range []struct {
				name string
				ik   *ActualLRPInstanceKey
				want bool
			}{{"same", row.rowIK, w.same}, {"other", other, w.other}, {"empty", empty, w.empty}} {
				if got := lrp.AllowsTransitionTo(key, c.ik, to); got != c.want {
					t.Errorf("%s -> %s with %s key: got %v, want %v", row.from, to, c.name, got, c.want)
				}
			}
		}
	}

	lrp := &ActualLRP{ActualLrpKey: key, ActualLrpInstanceKey: ik, State: R}
	for _, k := range []*ActualLRPKey{
		{ProcessGuid: "other", Index: 1, Domain: "d"},
		{ProcessGuid: "pg", Index: 2, Domain: "d"},
		{ProcessGuid: "pg", Index: 1, Domain: "other"},
		nil,
	} {
		if lrp.AllowsTransitionTo(k, ik, R) {
			t.Errorf("transition allowed with mismatched key %v", k)
		}
	}
	if (&ActualLRP{ActualLrpKey: key, State: "BOGUS"}).AllowsTransitionTo(key, ik, R) {
		t.Error("transition from an unknown state allowed")
	}
	if (&ActualLRP{ActualLrpKey: key, State: U}).AllowsTransitionTo(key, nil, "BOGUS") {
		t.Error("transition to an unknown state allowed")
	}
	if !(&ActualLRP{ActualLrpKey: key, State: C, ActualLrpInstanceKey: ik}).AllowsTransitionTo(key, nil, U) {
		t.Error("a nil instance key must count as empty")
	}
}

func TestDefaultRestartCalculator(t *testing.T) {
	c := NewDefaultRestartCalculator()
	if c.ImmediateRestarts != 3 || c.MaxBackoffCount != 5 || c.MaxBackoffDuration != 16*time.Minute || c.MaxRestartAttempts != 200 {
		t.Fatalf("default calculator = %+v", c)
	}
	if got := NewRestartCalculator(3, 30*time.Second, 200).MaxBackoffCount; got != 0 {
		t.Fatalf("MaxBackoffCount(30s) = %d", got)
	}
	if got := NewRestartCalculator(3, 17*time.Minute, 200).MaxBackoffCount; got != 5 {
		t.Fatalf("MaxBackoffCount(17m) = %d", got) // ceil(34) = 34, log2 floor 5
	}
	if got := NewRestartCalculator(3, 0, 200).MaxBackoffCount; got != 0 {
		t.Fatalf("MaxBackoffCount(0) = %d", got)
	}
}

// The schedule vizzini asserts: restarts immediately twice, then backs off
// 30 s, 60 s, 2 min, 4 min, 8 min and 16 min from then on, and never after
// 200 crashes.
func TestRestartSchedule(t *testing.T) {
	c := NewDefaultRestartCalculator()
	crashedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	wants := []struct {
		count int32
		delay time.Duration // -1: never
	}{
		{0, 0}, {1, 0}, {2, 0},
		{3, 30 * time.Second}, {4, time.Minute}, {5, 2 * time.Minute}, {6, 4 * time.Minute},
		{7, 8 * time.Minute}, {8, 16 * time.Minute}, {9, 16 * time.Minute}, {50, 16 * time.Minute},
		{199, 16 * time.Minute}, {200, -1}, {201, -1}, {1 << 30, -1},
	}
	for _, w := range wants {
		t.Run(fmt.Sprint(w.count), func(t *testing.T) {
			if w.delay < 0 {
				for _, later := range []time.Duration{0, time.Hour, 1000 * time.Hour} {
					if c.ShouldRestart(crashedAt+later.Nanoseconds(), crashedAt, w.count) {
						t.Fatalf("restarts %v after crash #%d", later, w.count)
					}
				}
				return
			}
			if got := c.Backoff(w.count); got != w.delay {
				t.Fatalf("Backoff(%d) = %v, want %v", w.count, got, w.delay)
			}
			if !c.ShouldRestart(crashedAt+w.delay.Nanoseconds(), crashedAt, w.count) {
				t.Fatalf("no restart %v after crash #%d", w.delay, w.count)
			}
			if w.delay > 0 && c.ShouldRestart(crashedAt+w.delay.Nanoseconds()-1, crashedAt, w.count) {
				t.Fatalf("restart 1ns before %v after crash #%d", w.delay, w.count)
			}
			if got, want := c.ShouldRestartImmediately(w.count), w.delay == 0; got != want {
				t.Fatalf("ShouldRestartImmediately(%d) = %v", w.count, got)
			}
		})
	}
	huge := NewRestartCalculator(3, 1<<62, 200)
	if d := huge.Backoff(199); d <= 0 {
		t.Fatalf("Backoff overflowed: %v", d)
	}
}

func TestNextCrash(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	cases := []struct {
		name    string
		state   string
		since   int64
		count   int32
		want    int32
		restart bool
	}{
		{"first crash of a fresh instance", ActualLRPStateRunning, ago(time.Minute), 0, 1, true},
		{"second crash", ActualLRPStateRunning, ago(time.Minute), 1, 2, true},
		{"third crash waits", ActualLRPStateRunning, ago(time.Minute), 2, 3, false},
		{"ran exactly 5 min: no reset", ActualLRPStateRunning, ago(5 * time.Minute), 5, 6, false},
		{"ran longer than 5 min: reset", ActualLRPStateRunning, ago(5*time.Minute + 1), 5, 1, true},
		{"claimed for long: no reset", ActualLRPStateClaimed, ago(time.Hour), 5, 6, false},
		{"claimed crash counts", ActualLRPStateClaimed, ago(time.Second), 1, 2, true},
		{"199th crash", ActualLRPStateRunning, ago(time.Second), 198, 199, false},
		{"past the limit", ActualLRPStateRunning, ago(time.Second), 250, 251, false},
		{"count saturates", ActualLRPStateClaimed, ago(time.Second), 1<<31 - 1, 1, true},
	}
	for _, c := range cases {
		got := NextCrash(c.state, c.since, c.count, now)
		if got.CrashCount != c.want || got.RestartImmediately != c.restart {
			t.Errorf("%s: got %+v, want count %d restart %v", c.name, got, c.want, c.restart)
		}
	}
}

func TestShouldRestartCrashAndStartUnclaimed(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := NewDefaultRestartCalculator()
	crashed := &ActualLRP{State: ActualLRPStateCrashed, CrashCount: 3, Since: now.Add(-30 * time.Second).UnixNano()}
	if !crashed.ShouldRestartCrash(now, c) {
		t.Error("crash #3 not due after 30 s")
	}
	crashed.Since++
	if crashed.ShouldRestartCrash(now, c) {
		t.Error("crash #3 due before 30 s")
	}
	if (&ActualLRP{State: ActualLRPStateRunning}).ShouldRestartCrash(now, c) {
		t.Error("a running instance is never restarted")
	}
	unclaimed := &ActualLRP{State: ActualLRPStateUnclaimed, Since: now.Add(-30 * time.Second).UnixNano()}
	if unclaimed.ShouldStartUnclaimed(now) {
		t.Error("unclaimed for exactly 30 s is not stale yet")
	}
	unclaimed.Since--
	if !unclaimed.ShouldStartUnclaimed(now) {
		t.Error("unclaimed for more than 30 s is stale")
	}
	if (&ActualLRP{State: ActualLRPStateClaimed}).ShouldStartUnclaimed(now) {
		t.Error("a claimed instance is never stale-unclaimed")
	}
}

func TestModificationTagIncrement(t *testing.T) {
	tag := &ModificationTag{Epoch: "e", Index: 4}
	tag.Increment()
	if tag.Epoch != "e" || tag.Index != 5 {
		t.Fatalf("tag = %v", tag)
	}
	var none *ModificationTag
	none.Increment() // no panic
}

// An instance that crashes a second after every start, as vizzini's
// "restarts immediately twice, then backs off" sees it: the first two
// crashes go straight back to UNCLAIMED, then it waits in CRASHED for
// 30 s, 60 s, 2 min, 4 min, 8 min and 16 min from then on.
func TestCrashLoop(t *testing.T) {
	calc := NewDefaultRestartCalculator()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lrp := &ActualLRP{State: ActualLRPStateRunning, Since: now.UnixNano()}
	wantWaits := []time.Duration{0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 16 * time.Minute, 16 * time.Minute, 16 * time.Minute}
	for i, want := range wantWaits {
		now = now.Add(time.Second) // runs a second, then crashes
		out := NextCrash(lrp.State, lrp.Since, lrp.CrashCount, now)
		lrp.CrashCount, lrp.Since = out.CrashCount, now.UnixNano()
		if out.CrashCount != int32(i+1) || out.RestartImmediately != (want == 0) {
			t.Fatalf("crash #%d: %+v", i+1, out)
		}
		if want > 0 {
			lrp.State = ActualLRPStateCrashed
			if lrp.ShouldRestartCrash(now.Add(want-time.Nanosecond), calc) || !lrp.ShouldRestartCrash(now.Add(want), calc) {
				t.Fatalf("crash #%d: not restarted exactly %v later", i+1, want)
			}
			now = now.Add(want)
		}
		lrp.State, lrp.Since = ActualLRPStateRunning, now.UnixNano()
	}
	// Running for longer than CrashResetTimeout forgives the past crashes.
	now = now.Add(CrashResetTimeout + time.Second)
	if out := NextCrash(lrp.State, lrp.Since, lrp.CrashCount, now); out.CrashCount != 1 || !out.RestartImmediately {
		t.Fatalf("crash after a long run: %+v", out)
	}
}
