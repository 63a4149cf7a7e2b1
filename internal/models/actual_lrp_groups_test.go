package models

import (
	"errors"
	"testing"
)

// row builds an actual LRP row of slot (guid, index) for the group tables;
// name is kept in the instance guid to tell rows apart.
func row(guid string, index int32, presence ActualLRP_Presence, state, name string) *ActualLRP {
	return &ActualLRP{
		ActualLrpKey:         &ActualLRPKey{ProcessGuid: guid, Index: index, Domain: "d"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: name, CellId: "cell-" + name},
		State:                state,
		Presence:             presence,
	}
}

func name(lrp *ActualLRP) string {
	if lrp == nil {
		return "-"
	}
	return lrp.GetActualLrpInstanceKey().GetInstanceGuid()
}

func TestResolveActualLRPGroup(t *testing.T) {
	const (
		ord  = ActualLRP_ORDINARY
		evac = ActualLRP_EVACUATING
		sus  = ActualLRP_SUSPECT
	)
	r := func(p ActualLRP_Presence, state, n string) *ActualLRP { return row("p", 0, p, state, n) }
	cases := []struct {
		name                 string
		rows                 []*ActualLRP
		instance, evacuating string
	}{
		{"no rows", nil, "-", "-"},
		{"ordinary alone", []*ActualLRP{r(ord, "UNCLAIMED", "o")}, "o", "-"},
		{"evacuating alone", []*ActualLRP{r(evac, "RUNNING", "e")}, "-", "e"},
		{"ordinary and evacuating", []*ActualLRP{r(evac, "RUNNING", "e"), r(ord, "UNCLAIMED", "o")}, "o", "e"},
		{"ordinary running beats suspect running", []*ActualLRP{r(sus, "RUNNING", "s"), r(ord, "RUNNING", "o")}, "o", "-"},
		{"ordinary running stays before suspect running", []*ActualLRP{r(ord, "RUNNING", "o"), r(sus, "RUNNING", "s")}, "o", "-"},
		{"suspect running beats ordinary unclaimed", []*ActualLRP{r(ord, "UNCLAIMED", "o"), r(sus, "RUNNING", "s")}, "s", "-"},
		{"suspect running stays before ordinary unclaimed", []*ActualLRP{r(sus, "RUNNING", "s"), r(ord, "UNCLAIMED", "o")}, "s", "-"},
		{"suspect running beats ordinary claimed", []*ActualLRP{r(ord, "CLAIMED", "o"), r(sus, "RUNNING", "s")}, "s", "-"},
		{"suspect running stays before ordinary claimed", []*ActualLRP{r(sus, "RUNNING", "s"), r(ord, "CLAIMED", "o")}, "s", "-"},
		{"suspect claimed beats ordinary crashed", []*ActualLRP{r(ord, "CRASHED", "o"), r(sus, "CLAIMED", "s")}, "s", "-"},
		{"suspect claimed stays before ordinary unclaimed", []*ActualLRP{r(sus, "CLAIMED", "s"), r(ord, "UNCLAIMED", "o")}, "s", "-"},
		{"ordinary running beats suspect claimed", []*ActualLRP{r(sus, "CLAIMED", "s"), r(ord, "RUNNING", "o")}, "o", "-"},
		// Two claimed rows tie: the later one wins if it outranks per its own rule.
		{"claimed tie, suspect later", []*ActualLRP{r(ord, "CLAIMED", "o"), r(sus, "CLAIMED", "s")}, "s", "-"},
		{"claimed tie, ordinary later", []*ActualLRP{r(sus, "CLAIMED", "s"), r(ord, "CLAIMED", "o")}, "s", "-"},
		{"suspect claimed does not beat ordinary running", []*ActualLRP{r(ord, "RUNNING", "o"), r(sus, "CLAIMED", "s")}, "o", "-"},
		{"all three", []*ActualLRP{r(ord, "UNCLAIMED", "o"), r(evac, "RUNNING", "e"), r(sus, "RUNNING", "s")}, "s", "e"},
		{"nil rows skipped", []*ActualLRP{nil, r(ord, "RUNNING", "o"), nil}, "o", "-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := ResolveActualLRPGroup(c.rows)
			if name(g.Instance) != c.instance || name(g.Evacuating) != c.evacuating {
				t.Errorf("instance %s evacuating %s, want %s %s", name(g.Instance), name(g.Evacuating), c.instance, c.evacuating)
			}
		})
	}
}

func TestResolveActualLRPGroups(t *testing.T) {
	rows := []*ActualLRP{
		row("b", 1, ActualLRP_ORDINARY, "RUNNING", "b1"),
		row("a", 0, ActualLRP_ORDINARY, "UNCLAIMED", "a0"),
		nil,
		row("b", 1, ActualLRP_EVACUATING, "RUNNING", "b1e"),
		row("a", 1, ActualLRP_SUSPECT, "RUNNING", "a1s"),
		row("a", 0, ActualLRP_SUSPECT, "RUNNING", "a0s"),
		row("a", 1, ActualLRP_ORDINARY, "CLAIMED", "a1"),
	}
	groups := ResolveActualLRPGroups(rows)
	want := [][2]string{{"b1", "b1e"}, {"a0s", "-"}, {"a1s", "-"}}
	if len(groups) != len(want) {
		t.Fatalf("%d groups, want %d", len(groups), len(want))
	}
	for i, g := range groups {
		if got := [2]string{name(g.Instance), name(g.Evacuating)}; got != want[i] {
			t.Errorf("group %d = %v, want %v", i, got, want[i])
		}
	}
	if len(ResolveActualLRPGroups(nil)) != 0 {
		t.Error("no rows, no groups")
	}
}

func TestActualLRPGroupResolve(t *testing.T) {
	inst := func(state string) *ActualLRP { return row("p", 0, ActualLRP_ORDINARY, state, "i") }
	evac := row("p", 0, ActualLRP_EVACUATING, "RUNNING", "e")
	cases := []struct {
		name    string
		g       *ActualLRPGroup
		want    string
		isEvac  bool
		invalid bool
	}{
		{"nil group", nil, "-", false, true},
		{"empty group", &ActualLRPGroup{}, "-", false, true},
		{"instance alone", &ActualLRPGroup{Instance: inst("CLAIMED")}, "i", false, false},
		{"evacuating alone", &ActualLRPGroup{Evacuating: evac}, "e", true, false},
		{"running instance wins", &ActualLRPGroup{Instance: inst("RUNNING"), Evacuating: evac}, "i", false, false},
		{"crashed instance wins", &ActualLRPGroup{Instance: inst("CRASHED"), Evacuating: evac}, "i", false, false},
		{"unclaimed instance loses", &ActualLRPGroup{Instance: inst("UNCLAIMED"), Evacuating: evac}, "e", true, false},
		{"claimed instance loses", &ActualLRPGroup{Instance: inst("CLAIMED"), Evacuating: evac}, "e", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lrp, isEvac, err := c.g.Resolve()
			if c.invalid {
				if !errors.Is(err, ErrActualLRPGroupInvalid) || err.Error() != "ActualLRPGroup invalid" {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err != nil || name(lrp) != c.want || isEvac != c.isEvac {
				t.Errorf("got %s %v %v, want %s %v", name(lrp), isEvac, err, c.want, c.isEvac)
			}
		})
	}
}

func TestToActualLRPGroup(t *testing.T) {
	o := row("p", 0, ActualLRP_ORDINARY, "RUNNING", "o")
	s := row("p", 0, ActualLRP_SUSPECT, "RUNNING", "s")
	e := row("p", 0, ActualLRP_EVACUATING, "RUNNING", "e")
	if g := o.ToActualLRPGroup(); g.Instance != o || g.Evacuating != nil {
		t.Error("ordinary goes to instance")
	}
	if g := s.ToActualLRPGroup(); g.Instance != s || g.Evacuating != nil {
		t.Error("suspect goes to instance")
	}
	if g := e.ToActualLRPGroup(); g.Instance != nil || g.Evacuating != e {
		t.Error("evacuating goes to evacuating")
	}
	if (*ActualLRP)(nil).ToActualLRPGroup() != nil {
		t.Error("nil")
	}
}
