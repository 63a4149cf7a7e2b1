package handlers_test

import (
	"testing"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// TestActualLRPTransitionTable drives the ORDINARY row of §4.2 from each
// state with claims, starts and crashes by its own instance (k1) and by
// another one (k2).
func TestActualLRPTransitionTable(t *testing.T) {
	const (
		unclaimed, claimed, running, crashed = models.ActualLRPStateUnclaimed, models.ActualLRPStateClaimed, models.ActualLRPStateRunning, models.ActualLRPStateCrashed
		noop                                 = "no-op"
	)
	k1, k2 := instKey("k1", "cell-1"), instKey("k2", "cell-2")
	type op struct {
		name string
		call func(f *lrpFx, key *models.ActualLRPKey) error
	}
	claim := func(ik *models.ActualLRPInstanceKey) op {
		return op{"claim " + ik.GetInstanceGuid(), func(f *lrpFx, key *models.ActualLRPKey) error { return f.c.ClaimActualLRP(f.ctx, key, ik) }}
	}
	start := func(ik *models.ActualLRPInstanceKey) op {
		return op{"start " + ik.GetInstanceGuid(), func(f *lrpFx, key *models.ActualLRPKey) error {
			return f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: netInfo("10.0.0.1", 61001)})
		}}
	}
	crash := func(ik *models.ActualLRPInstanceKey) op {
		return op{"crash " + ik.GetInstanceGuid(), func(f *lrpFx, key *models.ActualLRPKey) error { return f.c.CrashActualLRP(f.ctx, key, ik, "x") }}
	}
	// want is the resulting state, noop, or the error type's name.
	cases := []struct {
		from string
		op   op
		want string
	}{
		{unclaimed, claim(k1), claimed},
		{unclaimed, claim(k2), claimed},
		{unclaimed, start(k1), running},
		{unclaimed, start(k2), running},
		{unclaimed, crash(k1), "ActualLRPCannotBeCrashed"},
		{claimed, claim(k1), noop},
		{claimed, claim(k2), "ActualLRPCannotBeClaimed"},
		{claimed, start(k1), running},
		{claimed, start(k2), running},
		{claimed, crash(k1), unclaimed}, // a first crash restarts at once
		{claimed, crash(k2), "ActualLRPCannotBeCrashed"},
		{running, claim(k1), claimed},
		{running, claim(k2), "ActualLRPCannotBeClaimed"},
		{running, start(k1), noop},
		{running, start(k2), "ActualLRPCannotBeStarted"},
		{running, crash(k1), unclaimed},
		{running, crash(k2), "ActualLRPCannotBeCrashed"},
		{crashed, claim(k1), "ActualLRPCannotBeClaimed"},
		{crashed, start(k1), "ActualLRPCannotBeStarted"},
		{crashed, crash(k1), "ActualLRPCannotBeCrashed"},
	}
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", int32(len(cases)), models.DesiredLRP_ROLLING)
	for i, c := range cases {
		key := f.unclaimed("app", int32(i))
		switch c.from {
		case claimed:
			noError(t, f.c.ClaimActualLRP(f.ctx, key, k1))
		case running:
			f.run(key, k1)
		case crashed:
			for range models.DefaultImmediateRestarts {
				f.run(key, k1)
				noError(t, f.c.CrashActualLRP(f.ctx, key, k1, "x"))
			}
		}
		f.drain()
		before := f.row("app", int32(i), models.ActualLRP_ORDINARY)
		if before.GetState() != c.from {
			t.Fatalf("setup of %s: state %s", c.from, before.GetState())
		}
		err := c.op.call(f, key)
		after := f.row("app", int32(i), models.ActualLRP_ORDINARY)
		switch c.want {
		case noop:
			noError(t, err)
			if !proto.Equal(before, after) {
				t.Errorf("%s, %s: changed %v to %v", c.from, c.op.name, before, after)
			}
			f.expectNoEvents()
		case unclaimed, claimed, running, crashed:
			noError(t, err)
			if after.GetState() != c.want || after.GetModificationTag().GetIndex() != before.GetModificationTag().GetIndex()+1 {
				t.Errorf("%s, %s: %s (tag %v), want %s", c.from, c.op.name, after.GetState(), after.GetModificationTag(), c.want)
			}
			f.drain()
		default:
			wantError(t, err, models.Error_Type(models.Error_Type_value[c.want]), "")
			if !proto.Equal(before, after) {
				t.Errorf("%s, %s: failed but changed %v to %v", c.from, c.op.name, before, after)
			}
			f.expectNoEvents()
		}
	}
}
