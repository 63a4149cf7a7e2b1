package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// Scenario tables of the actual-LRP writes (reference §4.2, §4.4, §4.5).
// Each scenario runs twice: on the pure planners (actual_lrp_plans_test.go)
// and on every SQL flavor (actual_lrps_test.go).

var (
	scenarioNow   = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	scenarioEpoch = "epoch-new"
	scenarioKey   = &models.ActualLRPKey{ProcessGuid: "pg", Index: 2, Domain: "dom"}
)

const oldEpoch = "epoch-old"

// ik is the instance key of instance name on cell name.
func ik(name string) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: "ig-" + name, CellId: "cell-" + name}
}

func netInfo(addr string) *models.ActualLRPNetInfo {
	return &models.ActualLRPNetInfo{
		Address:          addr,
		InstanceAddress:  "10.255.0.7",
		Ports:            []*models.PortMapping{{ContainerPort: 8080, HostPort: 61001}, {ContainerPort: 2222, HostPort: 61002}},
		PreferredAddress: models.ActualLRPNetInfo_HOST,
	}
}

type rowOpt func(*models.ActualLRP)

func presence(p models.ActualLRP_Presence) rowOpt {
	return func(l *models.ActualLRP) { l.Presence = p }
}

var (
	asEvacuating = presence(models.ActualLRP_EVACUATING)
	asSuspect    = presence(models.ActualLRP_SUSPECT)
)

func crashes(n int32) rowOpt { return func(l *models.ActualLRP) { l.CrashCount = n } }

func sinceAgo(d time.Duration) rowOpt {
	return func(l *models.ActualLRP) { l.Since = scenarioNow.Add(-d).UnixNano() }
}

func placementError(s string) rowOpt { return func(l *models.ActualLRP) { l.PlacementError = s } }

// row is a stored row of scenarioKey's slot in state, one minute old, with
// tag epoch-old:3. Rows with an instance key carry what running(name)
// reports when RUNNING.
func row(state string, key *models.ActualLRPInstanceKey, opts ...rowOpt) *models.ActualLRP {
	if key == nil {
		key = &models.ActualLRPInstanceKey{}
	}
	routable := state == models.ActualLRPStateRunning
	lrp := &models.ActualLRP{
		ActualLrpKey:         proto.Clone(scenarioKey).(*models.ActualLRPKey),
		ActualLrpInstanceKey: key,
		ActualLrpNetInfo:     &models.ActualLRPNetInfo{},
		State:                state,
		Since:                scenarioNow.Add(-time.Minute).UnixNano(),
		ModificationTag:      &models.ModificationTag{Epoch: oldEpoch, Index: 3},
		Routable:             &routable,
		CrashReason:          "earlier crash",
	}
	if state == models.ActualLRPStateRunning {
		lrp.ActualLrpNetInfo = netInfo("1.2.3.4")
		lrp.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{{Hostname: "a.apps.internal"}}
		lrp.MetricTags = map[string]string{"source_id": "app"}
		lrp.AvailabilityZone = "z1"
	}
	for _, o := range opts {
		o(lrp)
	}
	return lrp
}

// running is what the rep of instance name reports, identical to a RUNNING
// row(…, ik(name)).
func running(name string) RunningInstance {
	return RunningInstance{
		InstanceKey:      ik(name),
		NetInfo:          netInfo("1.2.3.4"),
		InternalRoutes:   []*models.ActualLRPInternalRoute{{Hostname: "a.apps.internal"}},
		MetricTags:       map[string]string{"source_id": "app"},
		AvailabilityZone: "z1",
	}
}

type callKind int

const (
	callClaim callKind = iota
	callStart
	callCrash
	callFail
	callRemove
	callUnclaim
	callUnclaimStale
	callChangePresence
	callPromote
	callEvacuate
	callRemoveEvacuating
	callDelete
)

// lrpCall is one write with its arguments; from doubles as the presence of
// callDelete.
type lrpCall struct {
	kind     callKind
	ik       *models.ActualLRPInstanceKey
	run      RunningInstance
	reason   string
	from, to models.ActualLRP_Presence
	domain   string // replaces the key's domain when set
}

func (c lrpCall) key(base *models.ActualLRPKey) *models.ActualLRPKey {
	k := proto.Clone(base).(*models.ActualLRPKey)
	if c.domain != "" {
		k.Domain = c.domain
	}
	return k
}

// plan runs the call's planner on s.
func (c lrpCall) plan(base *models.ActualLRPKey, s slot) (slotPlan, error) {
	key, now := c.key(base), scenarioNow
	switch c.kind {
	case callClaim:
		return planClaim(s, c.ik, now)
	case callStart:
		return planStart(s, key, c.run, now, scenarioEpoch)
	case callCrash:
		return planCrash(s, c.ik, c.reason, now)
	case callFail:
		return planFail(s, c.reason, now)
	case callRemove:
		return planRemove(s, c.ik)
	case callUnclaim, callUnclaimStale:
		return planUnclaim(s, c.kind == callUnclaimStale, now)
	case callChangePresence:
		return planChangePresence(s, c.from, c.to)
	case callPromote:
		return planPromoteSuspect(s)
	case callEvacuate:
		return planEvacuate(s, key, c.run, now, scenarioEpoch)
	case callRemoveEvacuating:
		return planRemoveEvacuating(s, c.ik)
	case callDelete:
		return planDeleteRow(s, c.from, c.ik)
	}
	return slotPlan{}, fmt.Errorf("unknown call %d", c.kind)
}

// do runs the call's DB method.
func (c lrpCall) do(ctx context.Context, db *DB, base *models.ActualLRPKey) (*SlotUpdate, error) {
	key := c.key(base)
	switch c.kind {
	case callClaim:
		return db.ClaimActualLRP(ctx, key.ProcessGuid, key.Index, c.ik)
	case callStart:
		return db.StartActualLRP(ctx, key, c.run)
	case callCrash:
		return db.CrashActualLRP(ctx, key, c.ik, c.reason)
	case callFail:
		return db.FailActualLRP(ctx, key, c.reason)
	case callRemove:
		return db.RemoveActualLRP(ctx, key.ProcessGuid, key.Index, c.ik)
	case callUnclaim:
		return db.UnclaimActualLRP(ctx, key)
	case callUnclaimStale:
		return db.UnclaimStaleActualLRP(ctx, key)
	case callChangePresence:
		return db.ChangeActualLRPPresence(ctx, key, c.from, c.to)
	case callPromote:
		return db.PromoteSuspectActualLRP(ctx, key.ProcessGuid, key.Index)
	case callEvacuate:
		return db.EvacuateActualLRP(ctx, key, c.run)
	case callRemoveEvacuating:
		return db.RemoveEvacuatingActualLRP(ctx, key, c.ik)
	case callDelete:
		return db.DeleteActualLRP(ctx, key, c.from, c.ik)
	}
	return nil, fmt.Errorf("unknown call %d", c.kind)
}

// slotScenario: the rows of a slot, a call, and either the error it returns
// (nothing written) or the slot after it (see summary), the number of rows
// written, and specific checks.
type slotScenario struct {
	name    string
	rows    []*models.ActualLRP
	call    lrpCall
	err     error
	want    string
	changes int
	check   func(t *testing.T, u *SlotUpdate)
}

// summary describes rows as "PRESENCE:STATE:instance" (instance "-" when
// empty), in presence order.
func summary(rows []*models.ActualLRP) string {
	parts := make([]string, 0, len(rows))
	for _, l := range rows {
		name := strings.TrimPrefix(l.GetActualLrpInstanceKey().GetInstanceGuid(), "ig-")
		if name == "" {
			name = "-"
		}
		parts = append(parts, fmt.Sprintf("%s:%s:%s", l.GetPresence(), l.GetState(), name))
	}
	return strings.Join(parts, " ")
}

// checkScenario asserts what every scenario must satisfy, then its own.
func checkScenario(t *testing.T, sc slotScenario, u *SlotUpdate, err error) {
	t.Helper()
	if sc.err != nil {
		if !errors.Is(err, sc.err) {
			t.Fatalf("error = %v, want %v", err, sc.err)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	if got := summary(u.After); got != sc.want {
		t.Errorf("after = %q, want %q", got, sc.want)
	}
	if len(u.Changes) != sc.changes {
		t.Errorf("%d changes, want %d: %v", len(u.Changes), sc.changes, u.Changes)
	}
	for _, c := range u.Changes {
		checkChange(t, c)
	}
	for _, l := range u.After {
		if l.Routable == nil || l.ActualLrpKey == nil || l.ActualLrpInstanceKey == nil || l.ActualLrpNetInfo == nil || l.ModificationTag == nil {
			t.Errorf("incomplete row after the write: %v", l)
		}
	}
	if sc.check != nil {
		sc.check(t, u)
	}
}

// checkChange asserts the tag and since rules of §4.2 on one write.
func checkChange(t *testing.T, c ActualLRPChange) {
	t.Helper()
	switch {
	case c.Before == nil: // created
		if tag := c.After.GetModificationTag(); tag.GetEpoch() != scenarioEpoch || tag.GetIndex() != 0 {
			t.Errorf("created row has tag %v, want a fresh epoch and index 0", tag)
		}
		if c.After.GetSince() != scenarioNow.UnixNano() {
			t.Errorf("created row since %d, want now", c.After.GetSince())
		}
	case c.After == nil: // deleted
	case c.Before.GetPresence() != c.After.GetPresence(): // presence change only
		moved := proto.Clone(c.After).(*models.ActualLRP)
		moved.Presence = c.Before.GetPresence()
		if !proto.Equal(moved, c.Before) {
			t.Errorf("a presence change changed more:\nbefore %v\nafter  %v", c.Before, c.After)
		}
	default:
		bt, at := c.Before.GetModificationTag(), c.After.GetModificationTag()
		if at.GetEpoch() != bt.GetEpoch() || at.GetIndex() != bt.GetIndex()+1 {
			t.Errorf("updated row has tag %v, was %v: want index+1", at, bt)
		}
		if c.After.GetSince() != scenarioNow.UnixNano() {
			t.Errorf("updated row since %d, want now", c.After.GetSince())
		}
	}
}

// afterRow returns the row of presence p after the write.
func afterRow(t *testing.T, u *SlotUpdate, p models.ActualLRP_Presence) *models.ActualLRP {
	t.Helper()
	for _, l := range u.After {
		if l.GetPresence() == p {
			return l
		}
	}
	t.Fatalf("no %s row after the write: %s", p, summary(u.After))
	return nil
}

func allScenarios() []slotScenario {
	var all []slotScenario
	for _, group := range [][]slotScenario{
		claimScenarios(), startScenarios(), crashScenarios(), failRemoveUnclaimScenarios(),
		presenceScenarios(), evacuationScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}
