package controllers

import (
	"testing"

	"github.com/diego-go/diego/internal/models"
)

func planRow(p models.ActualLRP_Presence, state, instance string) *models.ActualLRP {
	ik := &models.ActualLRPInstanceKey{}
	if instance != "" {
		ik = &models.ActualLRPInstanceKey{InstanceGuid: instance, CellId: "cell-" + instance}
	}
	return &models.ActualLRP{
		ActualLrpKey:         &models.ActualLRPKey{ProcessGuid: "p", Index: 0, Domain: "d"},
		ActualLrpInstanceKey: ik,
		State:                state,
		Presence:             p,
	}
}

// TestEvacuateRunningPlan is the decision table of §4.4 for a rep whose
// instance is "me".
func TestEvacuateRunningPlan(t *testing.T) {
	const (
		ord, evac, susp                      = models.ActualLRP_ORDINARY, models.ActualLRP_EVACUATING, models.ActualLRP_SUSPECT
		unclaimed, claimed, running, crashed = models.ActualLRPStateUnclaimed, models.ActualLRPStateClaimed, models.ActualLRPStateRunning, models.ActualLRPStateCrashed
	)
	me := &models.ActualLRPInstanceKey{InstanceGuid: "me", CellId: "cell-me"}
	for _, c := range []struct {
		name              string
		rows              []*models.ActualLRP
		first             evacuationStep
		rolling, recreate evacuationStep
	}{
		{"empty slot", nil, stepDeleteContainer, 0, 0},
		{"desired removed, our evacuating row", []*models.ActualLRP{planRow(evac, running, "me")}, stepDropEvacuating, 0, 0},
		{"desired removed, our suspect row", []*models.ActualLRP{planRow(susp, running, "me")}, stepDropEvacuating, 0, 0},
		{"replacement running", []*models.ActualLRP{planRow(ord, running, "new"), planRow(evac, running, "me")}, stepDropEvacuating, 0, 0},
		{"replacement crashed", []*models.ActualLRP{planRow(ord, crashed, ""), planRow(evac, running, "me")}, stepDropEvacuating, 0, 0},
		{"replacement running, we are unknown", []*models.ActualLRP{planRow(ord, running, "new")}, stepDropEvacuating, 0, 0},
		{"replacement claimed, our evacuating row", []*models.ActualLRP{planRow(ord, claimed, "new"), planRow(evac, running, "me")},
			stepReadStrategy, stepKeepEvacuating, stepDropEvacuating},
		{"unknown to the BBS", []*models.ActualLRP{planRow(ord, unclaimed, "")}, stepReadStrategy, stepKeepEvacuating, stepDeleteContainer},
		{"another instance evacuates", []*models.ActualLRP{planRow(ord, unclaimed, ""), planRow(evac, running, "other")},
			stepReadStrategy, stepDeleteContainer, stepDeleteContainer},
		{"ordinary running", []*models.ActualLRP{planRow(ord, running, "me")}, stepReadStrategy, stepDance, stepRecreate},
		{"ordinary claimed", []*models.ActualLRP{planRow(ord, claimed, "me")}, stepReadStrategy, stepDance, stepRecreate},
		{"suspect, replacement unclaimed", []*models.ActualLRP{planRow(ord, unclaimed, ""), planRow(susp, running, "me")},
			stepReadStrategy, stepDance, stepDropSuspect},
		{"suspect, replacement claimed", []*models.ActualLRP{planRow(ord, claimed, "new"), planRow(susp, running, "me")},
			stepReadStrategy, stepDance, stepDropSuspect},
		// Not reachable through the API (a crashed row has no instance key),
		// but the rule is "any other state: delete the container".
		{"target in another state", []*models.ActualLRP{planRow(ord, unclaimed, "me")}, stepReadStrategy, stepDeleteContainer, stepDeleteContainer},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := carrying(c.rows, me)
			if got := evacuateRunningFirst(c.rows, target); got != c.first {
				t.Fatalf("first stage = %v, want %v", got, c.first)
			}
			if c.first != stepReadStrategy {
				return
			}
			if got := evacuateRunningRolling(c.rows, target); got != c.rolling {
				t.Errorf("rolling = %v, want %v", got, c.rolling)
			}
			if got := evacuateRunningRecreate(target); got != c.recreate {
				t.Errorf("recreate = %v, want %v", got, c.recreate)
			}
		})
	}
}
