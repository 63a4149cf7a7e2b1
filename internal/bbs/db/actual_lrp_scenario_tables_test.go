package db

import (
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

const (
	sU = models.ActualLRPStateUnclaimed
	sC = models.ActualLRPStateClaimed
	sR = models.ActualLRPStateRunning
	sX = models.ActualLRPStateCrashed
)

func rows(r ...*models.ActualLRP) []*models.ActualLRP { return r }

func claimScenarios() []slotScenario {
	claim := func(name string) lrpCall { return lrpCall{kind: callClaim, ik: ik(name)} }
	return []slotScenario{
		{name: "claim/unclaimed: claimed, placement error cleared", rows: rows(row(sU, nil, placementError("no cell"))),
			call: claim("a"), want: "ORDINARY:CLAIMED:a", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); l.PlacementError != "" || !proto.Equal(l.ActualLrpInstanceKey, ik("a")) {
					t.Errorf("claimed row %v", l)
				}
			}},
		{name: "claim/claimed by the same instance: no-op", rows: rows(row(sC, ik("a"))),
			call: claim("a"), want: "ORDINARY:CLAIMED:a"},
		{name: "claim/claimed by another instance", rows: rows(row(sC, ik("b"))),
			call: claim("a"), err: models.ErrActualLRPCannotBeClaimed},
		{name: "claim/running, same instance: back to claimed, net info cleared", rows: rows(row(sR, ik("a"))),
			call: claim("a"), want: "ORDINARY:CLAIMED:a", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); !proto.Equal(l.ActualLrpNetInfo, &models.ActualLRPNetInfo{}) {
					t.Errorf("net info kept: %v", l.ActualLrpNetInfo)
				}
			}},
		{name: "claim/running, another instance", rows: rows(row(sR, ik("b"))),
			call: claim("a"), err: models.ErrActualLRPCannotBeClaimed},
		{name: "claim/crashed", rows: rows(row(sX, nil, crashes(3))),
			call: claim("a"), err: models.ErrActualLRPCannotBeClaimed},
		{name: "claim/no rows", call: claim("a"), err: models.ErrResourceNotFound},
		{name: "claim/only an evacuating row", rows: rows(row(sR, ik("a"), asEvacuating)),
			call: claim("b"), err: models.ErrResourceNotFound},
		{name: "claim/from the suspect's cell: ignored", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)),
			call: claim("a"), want: "ORDINARY:UNCLAIMED:- SUSPECT:RUNNING:a",
			check: func(t *testing.T, u *SlotUpdate) {
				if !u.FromSuspect() || u.Changed() {
					t.Errorf("suspect claim: matched %v, changes %v", u.Matched, u.Changes)
				}
			}},
		{name: "claim/replacement of a suspect", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)),
			call: claim("b"), want: "ORDINARY:CLAIMED:b SUSPECT:RUNNING:a", changes: 1},
		{name: "claim/replacement of an evacuating instance", rows: rows(row(sU, nil), row(sR, ik("a"), asEvacuating)),
			call: claim("b"), want: "ORDINARY:CLAIMED:b EVACUATING:RUNNING:a", changes: 1},
	}
}

func startScenarios() []slotScenario {
	start := func(name string) lrpCall { return lrpCall{kind: callStart, run: running(name)} }
	notRoutable := false
	startNotRoutable := start("a")
	startNotRoutable.run.Routable = &notRoutable
	startMoved := start("a")
	startMoved.run.NetInfo = netInfo("5.6.7.8")
	startOtherDomain := start("a")
	startOtherDomain.domain = "other"
	startBare := lrpCall{kind: callStart, run: RunningInstance{InstanceKey: ik("a"), NetInfo: netInfo("1.2.3.4")}}
	wantRunning := func(name string, routable bool) func(t *testing.T, u *SlotUpdate) {
		return func(t *testing.T, u *SlotUpdate) {
			l := afterRow(t, u, models.ActualLRP_ORDINARY)
			want := running(name)
			if !proto.Equal(l.ActualLrpInstanceKey, want.InstanceKey) || !proto.Equal(l.ActualLrpNetInfo, want.NetInfo) ||
				len(l.ActualLrpInternalRoutes) != 1 || l.MetricTags["source_id"] != "app" || l.AvailabilityZone != "z1" ||
				l.GetRoutable() != routable || l.PlacementError != "" {
				t.Errorf("started row %v", l)
			}
		}
	}
	return []slotScenario{
		{name: "start/no ordinary row: created running, routable by default", call: start("a"),
			want: "ORDINARY:RUNNING:a", changes: 1, check: wantRunning("a", true)},
		{name: "start/unclaimed", rows: rows(row(sU, nil, placementError("no cell"))), call: startNotRoutable,
			want: "ORDINARY:RUNNING:a", changes: 1, check: wantRunning("a", false)},
		{name: "start/claimed by the same instance", rows: rows(row(sC, ik("a"))), call: start("a"),
			want: "ORDINARY:RUNNING:a", changes: 1, check: wantRunning("a", true)},
		{name: "start/claimed by another instance: any key may start", rows: rows(row(sC, ik("b"))), call: start("a"),
			want: "ORDINARY:RUNNING:a", changes: 1, check: wantRunning("a", true)},
		{name: "start/running with the same values: no-op", rows: rows(row(sR, ik("a"))), call: start("a"),
			want: "ORDINARY:RUNNING:a"},
		{name: "start/running, routes and tags absent on both sides: no-op",
			rows: rows(row(sR, ik("a"), func(l *models.ActualLRP) { l.ActualLrpInternalRoutes, l.MetricTags, l.AvailabilityZone = nil, nil, "" })),
			call: startBare,
			want: "ORDINARY:RUNNING:a"},
		{name: "start/running, new net info", rows: rows(row(sR, ik("a"))), call: startMoved,
			want: "ORDINARY:RUNNING:a", changes: 1, check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); l.ActualLrpNetInfo.Address != "5.6.7.8" {
					t.Errorf("net info %v", l.ActualLrpNetInfo)
				}
			}},
		{name: "start/running, routable changes", rows: rows(row(sR, ik("a"))), call: startNotRoutable,
			want: "ORDINARY:RUNNING:a", changes: 1, check: wantRunning("a", false)},
		{name: "start/running as another instance", rows: rows(row(sR, ik("b"))), call: start("a"),
			err: models.ErrActualLRPCannotBeStarted},
		{name: "start/crashed", rows: rows(row(sX, nil, crashes(4))), call: start("a"),
			err: models.ErrActualLRPCannotBeStarted},
		{name: "start/other domain", rows: rows(row(sR, ik("a"))), call: startOtherDomain,
			err: models.ErrActualLRPCannotBeStarted},
		{name: "start/illegal start keeps the evacuating row", rows: rows(row(sR, ik("b")), row(sR, ik("c"), asEvacuating)),
			call: start("a"), err: models.ErrActualLRPCannotBeStarted},
		{name: "start/from the suspect's cell: ignored", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)),
			call: start("a"), want: "ORDINARY:UNCLAIMED:- SUSPECT:RUNNING:a",
			check: func(t *testing.T, u *SlotUpdate) {
				if !u.FromSuspect() || u.Changed() {
					t.Errorf("suspect start: matched %v, changes %v", u.Matched, u.Changes)
				}
			}},
		{name: "start/replacement deletes the suspect", rows: rows(row(sC, ik("b")), row(sR, ik("a"), asSuspect)),
			call: start("b"), want: "ORDINARY:RUNNING:b", changes: 2,
			check: func(t *testing.T, u *SlotUpdate) {
				if c := u.Changes[1]; c.After != nil || c.Before.GetPresence() != models.ActualLRP_SUSPECT {
					t.Errorf("second change %v, want the suspect's deletion", c)
				}
			}},
		{name: "start/replacement deletes the evacuating row", rows: rows(row(sU, nil), row(sR, ik("a"), asEvacuating)),
			call: start("b"), want: "ORDINARY:RUNNING:b", changes: 2},
		{name: "start/repeated start still deletes the evacuating row", rows: rows(row(sR, ik("b")), row(sR, ik("a"), asEvacuating)),
			call: start("b"), want: "ORDINARY:RUNNING:b", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if c := u.Changes[0]; c.After != nil || c.Before.GetPresence() != models.ActualLRP_EVACUATING {
					t.Errorf("change %v, want the evacuating row's deletion", c)
				}
			}},
		{name: "start/no ordinary row: created, evacuating and suspect deleted",
			rows: rows(row(sR, ik("a"), asEvacuating), row(sR, ik("c"), asSuspect)),
			call: start("b"), want: "ORDINARY:RUNNING:b", changes: 3},
		{name: "start/the evacuating instance itself", rows: rows(row(sU, nil), row(sR, ik("a"), asEvacuating)),
			call: start("a"), want: "ORDINARY:RUNNING:a", changes: 2},
	}
}

func crashScenarios() []slotScenario {
	crash := func(name string) lrpCall { return lrpCall{kind: callCrash, ik: ik(name), reason: "exit status 1"} }
	crashLong := crash("a")
	crashLong.reason = strings.Repeat("x", 3000)
	crashed := func(count int32, state string, restart bool) func(t *testing.T, u *SlotUpdate) {
		return func(t *testing.T, u *SlotUpdate) {
			l := afterRow(t, u, models.ActualLRP_ORDINARY)
			if l.CrashCount != count || l.State != state || u.RestartImmediately != restart {
				t.Errorf("crash: count %d state %s restart %v, want %d %s %v", l.CrashCount, l.State, u.RestartImmediately, count, state, restart)
			}
			if !proto.Equal(l.ActualLrpInstanceKey, &models.ActualLRPInstanceKey{}) || !proto.Equal(l.ActualLrpNetInfo, &models.ActualLRPNetInfo{}) {
				t.Errorf("crashed row keeps its instance: %v", l)
			}
			if l.CrashReason != "exit status 1" {
				t.Errorf("crash reason %q", l.CrashReason)
			}
			before := u.Changes[0].Before
			if !proto.Equal(before.ActualLrpInstanceKey, ik("a")) {
				t.Errorf("the change's before lost the pre-crash instance key: %v", before)
			}
		}
	}
	return []slotScenario{
		{name: "crash/first crash: straight back to unclaimed", rows: rows(row(sR, ik("a"))), call: crash("a"),
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: crashed(1, sU, true)},
		{name: "crash/second crash: unclaimed", rows: rows(row(sR, ik("a"), crashes(1))), call: crash("a"),
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: crashed(2, sU, true)},
		{name: "crash/third crash: crashed", rows: rows(row(sR, ik("a"), crashes(2))), call: crash("a"),
			want: "ORDINARY:CRASHED:-", changes: 1, check: crashed(3, sX, false)},
		{name: "crash/claimed instance crashes", rows: rows(row(sC, ik("a"), crashes(2))), call: crash("a"),
			want: "ORDINARY:CRASHED:-", changes: 1, check: crashed(3, sX, false)},
		{name: "crash/running exactly 5 min: no reset", rows: rows(row(sR, ik("a"), crashes(5), sinceAgo(5*time.Minute))),
			call: crash("a"), want: "ORDINARY:CRASHED:-", changes: 1, check: crashed(6, sX, false)},
		{name: "crash/running over 5 min: count reset", rows: rows(row(sR, ik("a"), crashes(5), sinceAgo(5*time.Minute+time.Second))),
			call: crash("a"), want: "ORDINARY:UNCLAIMED:-", changes: 1, check: crashed(1, sU, true)},
		{name: "crash/claimed for an hour: no reset", rows: rows(row(sC, ik("a"), crashes(5), sinceAgo(time.Hour))),
			call: crash("a"), want: "ORDINARY:CRASHED:-", changes: 1, check: crashed(6, sX, false)},
		{name: "crash/200th crash", rows: rows(row(sR, ik("a"), crashes(199))), call: crash("a"),
			want: "ORDINARY:CRASHED:-", changes: 1, check: crashed(200, sX, false)},
		{name: "crash/reason truncated", rows: rows(row(sR, ik("a"), crashes(2))), call: crashLong,
			want: "ORDINARY:CRASHED:-", changes: 1, check: func(t *testing.T, u *SlotUpdate) {
				r := afterRow(t, u, models.ActualLRP_ORDINARY).CrashReason
				if len(r) != 1024 || !strings.HasSuffix(r, Truncated) {
					t.Errorf("reason of %d bytes", len(r))
				}
			}},
		{name: "crash/another instance", rows: rows(row(sR, ik("b"))), call: crash("a"),
			err: models.ErrActualLRPCannotBeCrashed},
		{name: "crash/unclaimed", rows: rows(row(sU, nil)), call: crash("a"), err: models.ErrActualLRPCannotBeCrashed},
		{name: "crash/crashed", rows: rows(row(sX, nil, crashes(3))), call: crash("a"), err: models.ErrActualLRPCannotBeCrashed},
		{name: "crash/no rows", call: crash("a"), err: models.ErrResourceNotFound},
		{name: "crash/the suspect: deleted, no accounting", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)),
			call: crash("a"), want: "ORDINARY:UNCLAIMED:-", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if !u.FromSuspect() || u.RestartImmediately || u.Changes[0].After != nil {
					t.Errorf("suspect crash: %+v", u)
				}
			}},
		{name: "crash/the suspect without replacement", rows: rows(row(sR, ik("a"), asSuspect)),
			call: crash("a"), want: "", changes: 1},
	}
}

func failRemoveUnclaimScenarios() []slotScenario {
	fail := lrpCall{kind: callFail, reason: "insufficient resources"}
	failLong := lrpCall{kind: callFail, reason: strings.Repeat("é", 800)}
	unclaim := lrpCall{kind: callUnclaim}
	stale := lrpCall{kind: callUnclaimStale}
	wantCleared := func(t *testing.T, u *SlotUpdate) {
		l := afterRow(t, u, models.ActualLRP_ORDINARY)
		if !proto.Equal(l.ActualLrpInstanceKey, &models.ActualLRPInstanceKey{}) || !proto.Equal(l.ActualLrpNetInfo, &models.ActualLRPNetInfo{}) {
			t.Errorf("unclaimed row keeps its instance: %v", l)
		}
	}
	return []slotScenario{
		{name: "fail/unclaimed: placement error", rows: rows(row(sU, nil)), call: fail,
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); l.PlacementError != "insufficient resources" {
					t.Errorf("placement error %q", l.PlacementError)
				}
			}},
		{name: "fail/reason truncated on a rune boundary", rows: rows(row(sU, nil)), call: failLong,
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); len(l.PlacementError) > 1024 || !strings.HasSuffix(l.PlacementError, Truncated) {
					t.Errorf("placement error of %d bytes", len(l.PlacementError))
				}
			}},
		{name: "fail/claimed", rows: rows(row(sC, ik("a"))), call: fail, err: models.ErrActualLRPCannotBeFailed},
		{name: "fail/no rows: success", call: fail, want: ""},
		{name: "remove/any instance", rows: rows(row(sC, ik("a"))), call: lrpCall{kind: callRemove},
			want: "", changes: 1},
		{name: "remove/the given instance", rows: rows(row(sR, ik("a")), row(sR, ik("b"), asEvacuating)),
			call: lrpCall{kind: callRemove, ik: ik("a")}, want: "EVACUATING:RUNNING:b", changes: 1},
		{name: "remove/an unclaimed row by its empty key", rows: rows(row(sU, nil)),
			call: lrpCall{kind: callRemove, ik: &models.ActualLRPInstanceKey{}}, want: "", changes: 1},
		{name: "remove/another instance", rows: rows(row(sR, ik("b"))), call: lrpCall{kind: callRemove, ik: ik("a")},
			err: models.ErrResourceNotFound},
		{name: "remove/no ordinary row", rows: rows(row(sR, ik("a"), asSuspect)), call: lrpCall{kind: callRemove},
			err: models.ErrResourceNotFound},
		{name: "unclaim/running", rows: rows(row(sR, ik("a"))), call: unclaim,
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: wantCleared},
		{name: "unclaim/claimed", rows: rows(row(sC, ik("a"))), call: unclaim,
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: wantCleared},
		{name: "unclaim/crashed keeps its count", rows: rows(row(sX, nil, crashes(4))), call: unclaim,
			want: "ORDINARY:UNCLAIMED:-", changes: 1, check: func(t *testing.T, u *SlotUpdate) {
				if l := afterRow(t, u, models.ActualLRP_ORDINARY); l.CrashCount != 4 {
					t.Errorf("crash count %d", l.CrashCount)
				}
			}},
		{name: "unclaim/unclaimed", rows: rows(row(sU, nil)), call: unclaim, err: models.ErrActualLRPCannotBeUnclaimed},
		{name: "unclaim/no rows", call: unclaim, err: models.ErrResourceNotFound},
		{name: "unclaim stale/claimed is left alone", rows: rows(row(sC, ik("a"))), call: stale,
			err: models.ErrActualLRPCannotBeUnclaimed},
		{name: "unclaim stale/crashed", rows: rows(row(sX, nil, crashes(3))), call: stale,
			want: "ORDINARY:UNCLAIMED:-", changes: 1},
		{name: "unclaim stale/unclaimed", rows: rows(row(sU, nil)), call: stale, err: models.ErrActualLRPCannotBeUnclaimed},
	}
}

func presenceScenarios() []slotScenario {
	toSuspect := lrpCall{kind: callChangePresence, from: models.ActualLRP_ORDINARY, to: models.ActualLRP_SUSPECT}
	toOrdinary := lrpCall{kind: callChangePresence, from: models.ActualLRP_SUSPECT, to: models.ActualLRP_ORDINARY}
	promote := lrpCall{kind: callPromote}
	return []slotScenario{
		{name: "presence/ordinary to suspect keeps tag and since", rows: rows(row(sR, ik("a"))), call: toSuspect,
			want: "SUSPECT:RUNNING:a", changes: 1},
		{name: "presence/suspect to ordinary", rows: rows(row(sR, ik("a"), asSuspect)), call: toOrdinary,
			want: "ORDINARY:RUNNING:a", changes: 1},
		{name: "presence/target presence taken", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)), call: toOrdinary,
			err: models.ErrResourceExists},
		{name: "presence/no such row", rows: rows(row(sU, nil)), call: toOrdinary, err: models.ErrResourceNotFound},
		{name: "presence/same presence: no-op", rows: rows(row(sU, nil)),
			call: lrpCall{kind: callChangePresence}, want: "ORDINARY:UNCLAIMED:-"},
		{name: "promote/replacement deleted", rows: rows(row(sC, ik("b")), row(sR, ik("a"), asSuspect)), call: promote,
			want: "ORDINARY:RUNNING:a", changes: 2, check: func(t *testing.T, u *SlotUpdate) {
				if u.Changes[0].After != nil || u.Changes[0].Before.GetPresence() != models.ActualLRP_ORDINARY {
					t.Errorf("first change %v, want the replacement's deletion", u.Changes[0])
				}
			}},
		{name: "promote/without replacement", rows: rows(row(sR, ik("a"), asSuspect)), call: promote,
			want: "ORDINARY:RUNNING:a", changes: 1},
		{name: "promote/no suspect", rows: rows(row(sR, ik("a"))), call: promote, err: models.ErrResourceNotFound},
	}
}
