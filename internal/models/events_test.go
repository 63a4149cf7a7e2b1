package models

import (
	"errors"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

func fullLRP(guid, cell, state string) *ActualLRP {
	return &ActualLRP{
		ActualLrpKey:            &ActualLRPKey{ProcessGuid: "p", Index: 3, Domain: "d"},
		ActualLrpInstanceKey:    &ActualLRPInstanceKey{InstanceGuid: guid, CellId: cell},
		ActualLrpNetInfo:        &ActualLRPNetInfo{Address: "10.0.0.1", InstanceAddress: "10.255.0.1"},
		CrashCount:              2,
		CrashReason:             "boom",
		State:                   state,
		PlacementError:          "pe",
		Since:                   42,
		ModificationTag:         &ModificationTag{Epoch: "e", Index: 7},
		Presence:                ActualLRP_SUSPECT,
		ActualLrpInternalRoutes: []*ActualLRPInternalRoute{{Hostname: "h"}},
		MetricTags:              map[string]string{"a": "b"},
		Routable:                boolPtr(false),
		AvailabilityZone:        "z1",
	}
}

func TestActualLRPInfoRoundTrip(t *testing.T) {
	lrp := fullLRP("ig", "c1", "RUNNING")
	info := lrp.ToActualLRPInfo()
	checkEqual(t, info, &ActualLRPInfo{
		ActualLrpNetInfo: lrp.ActualLrpNetInfo, CrashCount: 2, CrashReason: "boom", State: "RUNNING", PlacementError: "pe",
		Since: 42, ModificationTag: lrp.ModificationTag, Presence: ActualLRP_SUSPECT, Routable: boolPtr(false), AvailabilityZone: "z1",
	})
	back := info.ToActualLRP(lrp.ActualLrpKey, lrp.ActualLrpInstanceKey)
	want := fullLRP("ig", "c1", "RUNNING")
	want.ActualLrpInternalRoutes, want.MetricTags = nil, nil // not carried by the info
	checkEqual(t, back, want)
	if (*ActualLRP)(nil).ToActualLRPInfo() != nil || (*ActualLRPInfo)(nil).ToActualLRP(nil, nil) != nil {
		t.Error("nil in, nil out")
	}
	if info := (&ActualLRP{}).ToActualLRPInfo(); info.Routable != nil {
		t.Error("unset routable stays unset")
	}
}

func TestActualLRPInstanceChangedEvent(t *testing.T) {
	unclaimed := &ActualLRP{ActualLrpKey: &ActualLRPKey{ProcessGuid: "p", Index: 3, Domain: "d"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{}, State: "UNCLAIMED"}
	claimed := fullLRP("ig", "c1", "CLAIMED")
	crashed := &ActualLRP{ActualLrpKey: &ActualLRPKey{ProcessGuid: "p", Index: 3, Domain: "d"}, State: "CRASHED"}
	cases := []struct {
		name          string
		before, after *ActualLRP
		wantGuid      string
		wantCell      string
	}{
		{"claim: keys from after", unclaimed, claimed, "ig", "c1"},
		{"crash: after has no instance key, so before's", claimed, crashed, "ig", "c1"},
		{"nil before", nil, claimed, "ig", "c1"},
		{"nil after", claimed, nil, "ig", "c1"},
		{"both without instance key", unclaimed, crashed, "", ""},
		{"both nil", nil, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := NewActualLRPInstanceChangedEvent(c.before, c.after, "trace-1")
			if ev.TraceId != "trace-1" || ev.EventType() != "actual_lrp_instance_changed" {
				t.Errorf("trace %q type %q", ev.TraceId, ev.EventType())
			}
			ik := ev.GetActualLrpInstanceKey()
			if ik == nil || ik.InstanceGuid != c.wantGuid || ik.CellId != c.wantCell || ev.Key() != c.wantGuid {
				t.Errorf("instance key %v, key %q", ik, ev.Key())
			}
			if ev.ActualLrpKey == nil {
				t.Fatal("key must always be set")
			}
			if c.before != nil || c.after != nil {
				checkEqual(t, ev.ActualLrpKey, &ActualLRPKey{ProcessGuid: "p", Index: 3, Domain: "d"})
			}
			checkEqual(t, ev.Before, c.before.ToActualLRPInfo())
			checkEqual(t, ev.After, c.after.ToActualLRPInfo())
		})
	}
	// The event's keys are copies.
	ev := NewActualLRPInstanceChangedEvent(unclaimed, claimed, "")
	ev.ActualLrpInstanceKey.CellId = "other"
	if claimed.ActualLrpInstanceKey.CellId != "c1" {
		t.Error("event shares the instance key")
	}
}

func TestActualLRPCrashedEvent(t *testing.T) {
	before := fullLRP("ig", "c1", "RUNNING")
	after := &ActualLRP{ActualLrpKey: &ActualLRPKey{ProcessGuid: "p2", Index: 1, Domain: "d2"},
		State: "CRASHED", CrashCount: 3, CrashReason: "oom", Since: 99}
	ev := NewActualLRPCrashedEvent(before, after)
	checkEqual(t, ev, &ActualLRPCrashedEvent{
		ActualLrpKey:         &ActualLRPKey{ProcessGuid: "p2", Index: 1, Domain: "d2"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "c1"},
		CrashCount:           3, CrashReason: "oom", Since: 99,
	})
	if ev.Key() != "ig" || ev.EventType() != "actual_lrp_crashed" {
		t.Errorf("key %q type %q", ev.Key(), ev.EventType())
	}
	if ev := NewActualLRPCrashedEvent(nil, nil); ev.ActualLrpKey == nil || ev.ActualLrpInstanceKey == nil {
		t.Error("nil LRPs give empty keys")
	}
}

func TestEventTypesAndKeys(t *testing.T) {
	d := &DesiredLRP{ProcessGuid: "pg"}
	d2 := &DesiredLRP{ProcessGuid: "pg2"}
	task := &Task{TaskGuid: "tg"}
	lrp := fullLRP("ig", "c1", "RUNNING")
	cases := []struct {
		ev        Event
		eventType string
		key       string
	}{
		{NewDesiredLRPCreatedEvent(d, "t"), "desired_lrp_created", "pg"},
		{NewDesiredLRPChangedEvent(d, d2, "t"), "desired_lrp_changed", "pg"},
		{NewDesiredLRPRemovedEvent(d, "t"), "desired_lrp_removed", "pg"},
		{NewActualLRPInstanceCreatedEvent(lrp, "t"), "actual_lrp_instance_created", "ig"},
		{NewActualLRPInstanceRemovedEvent(lrp, "t"), "actual_lrp_instance_removed", "ig"},
		{NewActualLRPInstanceCreatedEvent(nil, "t"), "actual_lrp_instance_created", ""},
		{NewActualLRPCreatedEvent(lrp.ToActualLRPGroup()), "actual_lrp_created", "ig"},
		{NewActualLRPChangedEvent(lrp.ToActualLRPGroup(), nil), "actual_lrp_changed", "ig"},
		{NewActualLRPRemovedEvent(&ActualLRPGroup{}), "actual_lrp_removed", ""},
		{NewTaskCreatedEvent(task), "task_created", "tg"},
		{NewTaskChangedEvent(task, nil), "task_changed", "tg"},
		{NewTaskRemovedEvent(task), "task_removed", "tg"},
	}
	for _, c := range cases {
		if c.ev.EventType() != c.eventType || c.ev.Key() != c.key {
			t.Errorf("%T: type %q key %q, want %q %q", c.ev, c.ev.EventType(), c.ev.Key(), c.eventType, c.key)
		}
		empty, ok := NewEventOfType(c.eventType)
		if !ok || empty.ProtoReflect().Descriptor() != c.ev.ProtoReflect().Descriptor() {
			t.Errorf("NewEventOfType(%q) = %T", c.eventType, empty)
		}
	}
	if _, ok := NewEventOfType("actual_lrp_crashed"); !ok {
		t.Error("crashed")
	}
	if ev, ok := NewEventOfType("bogus"); ok || ev != nil {
		t.Error("unknown names are not events")
	}
	ev := NewDesiredLRPChangedEvent(d, d2, "trace")
	if ev.Before != d || ev.After != d2 || ev.TraceId != "trace" {
		t.Error("changed event fields")
	}
}

func TestInstanceEventMatchesCell(t *testing.T) {
	on := func(cell string) *ActualLRP { return fullLRP("ig", cell, "RUNNING") }
	unclaimed := &ActualLRP{State: "UNCLAIMED"}
	cases := []struct {
		name string
		ev   Event
		want bool
	}{
		{"created on cell", NewActualLRPInstanceCreatedEvent(on("c1"), ""), true},
		{"created elsewhere", NewActualLRPInstanceCreatedEvent(on("c2"), ""), false},
		{"created unclaimed", NewActualLRPInstanceCreatedEvent(unclaimed, ""), false},
		{"removed on cell", NewActualLRPInstanceRemovedEvent(on("c1"), ""), true},
		{"removed elsewhere", NewActualLRPInstanceRemovedEvent(on("c2"), ""), false},
		{"changed to cell", NewActualLRPInstanceChangedEvent(unclaimed, on("c1"), ""), true},
		{"changed off cell to unclaimed keeps before's key", NewActualLRPInstanceChangedEvent(on("c1"), unclaimed, ""), true},
		{"changed elsewhere", NewActualLRPInstanceChangedEvent(on("c1"), on("c2"), ""), false},
		{"crashed on cell", NewActualLRPCrashedEvent(on("c1"), unclaimed), true},
		{"crashed elsewhere", NewActualLRPCrashedEvent(on("c2"), on("c1")), false},
		{"desired events always pass", NewDesiredLRPRemovedEvent(&DesiredLRP{}, ""), true},
		{"nil LRP", NewActualLRPInstanceRemovedEvent(nil, ""), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := InstanceEventMatchesCell(c.ev, "c1"); got != c.want {
				t.Errorf("got %v", got)
			}
			if !InstanceEventMatchesCell(c.ev, "") {
				t.Error("an empty cell id lets everything pass")
			}
		})
	}
}

func TestGroupEventMatchesCell(t *testing.T) {
	inst := func(cell, state string) *ActualLRP {
		l := fullLRP("ig-"+cell, cell, state)
		l.Presence = ActualLRP_ORDINARY
		return l
	}
	evac := func(cell string) *ActualLRP {
		l := fullLRP("ev-"+cell, cell, "RUNNING")
		l.Presence = ActualLRP_EVACUATING
		return l
	}
	group := func(i, e *ActualLRP) *ActualLRPGroup { return &ActualLRPGroup{Instance: i, Evacuating: e} }
	cases := []struct {
		name    string
		ev      Event
		want    bool
		invalid bool
	}{
		{"created on cell", NewActualLRPCreatedEvent(group(inst("c1", "RUNNING"), nil)), true, false},
		{"created elsewhere", NewActualLRPCreatedEvent(group(inst("c2", "RUNNING"), nil)), false, false},
		{"created resolves to evacuating on cell", NewActualLRPCreatedEvent(group(inst("c2", "CLAIMED"), evac("c1"))), true, false},
		{"created resolves to running instance elsewhere", NewActualLRPCreatedEvent(group(inst("c2", "RUNNING"), evac("c1"))), false, false},
		{"removed on cell", NewActualLRPRemovedEvent(group(nil, evac("c1"))), true, false},
		{"removed elsewhere", NewActualLRPRemovedEvent(group(nil, evac("c2"))), false, false},
		{"changed from cell", NewActualLRPChangedEvent(group(inst("c1", "RUNNING"), nil), group(inst("c2", "RUNNING"), nil)), true, false},
		{"changed to cell", NewActualLRPChangedEvent(group(inst("c2", "RUNNING"), nil), group(inst("c1", "RUNNING"), nil)), true, false},
		{"changed elsewhere", NewActualLRPChangedEvent(group(inst("c2", "RUNNING"), nil), group(inst("c3", "RUNNING"), nil)), false, false},
		{"crashed on cell", NewActualLRPCrashedEvent(inst("c1", "RUNNING"), nil), true, false},
		{"crashed elsewhere", NewActualLRPCrashedEvent(inst("c2", "RUNNING"), nil), false, false},
		{"desired event", NewDesiredLRPCreatedEvent(nil, ""), true, false},
		{"empty group", NewActualLRPCreatedEvent(&ActualLRPGroup{}), false, true},
		{"nil group", NewActualLRPRemovedEvent(nil), false, true},
		{"changed with empty after", NewActualLRPChangedEvent(group(inst("c1", "RUNNING"), nil), &ActualLRPGroup{}), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := GroupEventMatchesCell(c.ev, "c1")
			if c.invalid != errors.Is(err, ErrActualLRPGroupInvalid) {
				t.Fatalf("err = %v", err)
			}
			if got != c.want {
				t.Errorf("got %v", got)
			}
			if ok, err := GroupEventMatchesCell(c.ev, ""); !ok || err != nil {
				t.Error("an empty cell id lets everything pass")
			}
		})
	}
}
