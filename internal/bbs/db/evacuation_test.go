package db

import (
	"testing"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

func evacuationScenarios() []slotScenario {
	evacuate := func(name string) lrpCall { return lrpCall{kind: callEvacuate, run: running(name)} }
	evacuateMoved := evacuate("a")
	evacuateMoved.run.NetInfo = netInfo("5.6.7.8")
	evacuateMoved.run.AvailabilityZone = "z2"
	notRoutable := false
	evacuateMoved.run.Routable = &notRoutable
	removeEvac := func(name string) lrpCall { return lrpCall{kind: callRemoveEvacuating, ik: ik(name)} }
	deleteRow := func(p models.ActualLRP_Presence, key *models.ActualLRPInstanceKey) lrpCall {
		return lrpCall{kind: callDelete, from: p, ik: key}
	}
	wantEvacuating := func(addr, zone string, routable bool) func(t *testing.T, u *SlotUpdate) {
		return func(t *testing.T, u *SlotUpdate) {
			l := afterRow(t, u, models.ActualLRP_EVACUATING)
			if l.State != sR || l.ActualLrpNetInfo.GetAddress() != addr || l.AvailabilityZone != zone ||
				l.GetRoutable() != routable || !proto.Equal(l.ActualLrpInstanceKey, ik("a")) {
				t.Errorf("evacuating row %v", l)
			}
		}
	}
	return []slotScenario{
		{name: "evacuate/no rows: evacuating row created", call: evacuate("a"),
			want: "EVACUATING:RUNNING:a", changes: 1, check: wantEvacuating("1.2.3.4", "z1", true)},
		{name: "evacuate/beside the ordinary row", rows: rows(row(sU, nil)), call: evacuate("a"),
			want: "ORDINARY:UNCLAIMED:- EVACUATING:RUNNING:a", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if u.Matched != nil {
					t.Errorf("matched %v", u.Matched)
				}
			}},
		{name: "evacuate/copy of the running ordinary row", rows: rows(row(sR, ik("a"))), call: evacuate("a"),
			want: "ORDINARY:RUNNING:a EVACUATING:RUNNING:a", changes: 1,
			check: func(t *testing.T, u *SlotUpdate) {
				if u.Matched.GetPresence() != models.ActualLRP_ORDINARY {
					t.Errorf("matched %v", u.Matched)
				}
			}},
		{name: "evacuate/identical: exists", rows: rows(row(sU, nil), row(sR, ik("a"), asEvacuating)), call: evacuate("a"),
			err: models.ErrResourceExists},
		{name: "evacuate/refresh: new net info and zone, routable kept",
			rows: rows(row(sR, ik("a"), asEvacuating)), call: evacuateMoved,
			want: "EVACUATING:RUNNING:a", changes: 1, check: wantEvacuating("5.6.7.8", "z2", true)},
		{name: "evacuate/other instance's row is overwritten", rows: rows(row(sR, ik("b"), asEvacuating)),
			call: evacuate("a"), want: "EVACUATING:RUNNING:a", changes: 1, check: wantEvacuating("1.2.3.4", "z1", true)},
		{name: "remove evacuating/its own row", rows: rows(row(sC, ik("b")), row(sR, ik("a"), asEvacuating)),
			call: removeEvac("a"), want: "ORDINARY:CLAIMED:b", changes: 1},
		{name: "remove evacuating/another instance's row", rows: rows(row(sR, ik("b"), asEvacuating)),
			call: removeEvac("a"), err: models.ErrResourceNotFound},
		{name: "remove evacuating/the instance is ordinary", rows: rows(row(sR, ik("a"))),
			call: removeEvac("a"), err: models.ErrResourceNotFound},
		{name: "remove evacuating/the instance is suspect", rows: rows(row(sR, ik("a"), asSuspect)),
			call: removeEvac("a"), err: models.ErrResourceNotFound},
		{name: "remove evacuating/no rows", call: removeEvac("a"), err: models.ErrResourceNotFound},
		{name: "delete/the suspect carrying the key", rows: rows(row(sU, nil), row(sR, ik("a"), asSuspect)),
			call: deleteRow(models.ActualLRP_SUSPECT, ik("a")), want: "ORDINARY:UNCLAIMED:-", changes: 1},
		{name: "delete/the suspect, any key", rows: rows(row(sR, ik("a"), asSuspect)),
			call: deleteRow(models.ActualLRP_SUSPECT, nil), want: "", changes: 1},
		{name: "delete/the evacuating row carrying the key", rows: rows(row(sR, ik("b")), row(sR, ik("a"), asEvacuating)),
			call: deleteRow(models.ActualLRP_EVACUATING, ik("a")), want: "ORDINARY:RUNNING:b", changes: 1},
		{name: "delete/key mismatch", rows: rows(row(sR, ik("a"), asSuspect)),
			call: deleteRow(models.ActualLRP_SUSPECT, ik("b")), err: models.ErrResourceNotFound},
		{name: "delete/no row of that presence", rows: rows(row(sR, ik("a"))),
			call: deleteRow(models.ActualLRP_EVACUATING, nil), err: models.ErrResourceNotFound},
	}
}
