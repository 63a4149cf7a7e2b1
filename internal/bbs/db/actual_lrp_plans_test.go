package db

import (
	"testing"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

func cloneRows(rows []*models.ActualLRP) []*models.ActualLRP {
	out := make([]*models.ActualLRP, len(rows))
	for i, r := range rows {
		out[i] = proto.Clone(r).(*models.ActualLRP)
	}
	return out
}

// TestActualLRPPlans runs every scenario on the planners alone.
func TestActualLRPPlans(t *testing.T) {
	for _, sc := range allScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			s := slot(cloneRows(sc.rows))
			sortByPresence(s)
			orig := cloneRows(s)
			p, err := sc.call.plan(scenarioKey, s)
			var u *SlotUpdate
			if err == nil {
				u = newSlotUpdate(s, p)
			}
			checkScenario(t, sc, u, err)
			for i := range s {
				if !proto.Equal(s[i], orig[i]) {
					t.Fatalf("the planner modified its input:\nwas %v\nnow %v", orig[i], s[i])
				}
			}
		})
	}
}

func TestSlotLookups(t *testing.T) {
	ord := row(sR, ik("a"))
	ev := row(sR, ik("a"), asEvacuating)
	sus := row(sR, ik("b"), asSuspect)
	s := slot{ord, ev, sus}
	if s.carrying(ik("a")) != ord {
		t.Error("carrying must prefer the ORDINARY row")
	}
	if s.carrying(ik("b")) != sus || s.carrying(ik("c")) != nil {
		t.Error("carrying found the wrong row")
	}
	if s.withPresence(models.ActualLRP_EVACUATING) != ev || (slot{ord}).withPresence(models.ActualLRP_SUSPECT) != nil {
		t.Error("withPresence found the wrong row")
	}
	var none *SlotUpdate
	if none.Changed() || none.FromSuspect() {
		t.Error("a nil update reports something")
	}
}

func TestSameValues(t *testing.T) {
	if !sameNetInfo(nil, &models.ActualLRPNetInfo{}) || sameNetInfo(nil, netInfo("1.2.3.4")) {
		t.Error("sameNetInfo: nil must equal the empty net info only")
	}
	a := []*models.ActualLRPInternalRoute{{Hostname: "x"}}
	if !sameInternalRoutes(nil, []*models.ActualLRPInternalRoute{}) || sameInternalRoutes(a, nil) ||
		!sameInternalRoutes(a, []*models.ActualLRPInternalRoute{{Hostname: "x"}}) {
		t.Error("sameInternalRoutes")
	}
	if (RunningInstance{}).routable() != true {
		t.Error("a start without routable must be routable")
	}
}
