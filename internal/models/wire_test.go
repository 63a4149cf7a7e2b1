package models

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// TestWireBytes pins exact encodings: Appendix A of the reference notes,
// then the always-written (non-nullable) fields inside containers, then
// presence fields.
func TestWireBytes(t *testing.T) {
	emptyLRP := "0a 00 12 00 1a 00 4a 00" // ActualLRP fields 1, 2, 3, 9, empty
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		// Appendix A.
		{"ping", &PingResponse{Available: true}, "08 01"},
		{"error in response", &ActualLRPLifecycleResponse{Error: &Error{Type: Error_ResourceNotFound, Message: "x"}}, "0a 05 08 0d 12 01 78"},
		{"index 0 present", &ActualLRPsRequest{ProcessGuid: "p", Index: ptr(int32(0))}, "1a 01 70 20 00"},
		{"empty ActualLRP routable false", &ActualLRP{Routable: ptr(false)}, emptyLRP + " 68 00"},
		{"DesiredLRP ports unpacked", &DesiredLRP{Ports: []uint32{8080, 2222}}, "70 90 3f 70 ae 11"},

		// Non-nullable fields wherever they occur.
		{"empty ActualLRP", &ActualLRP{}, emptyLRP},
		{"ActualLRP keeps set fields", &ActualLRP{ActualLrpKey: &ActualLRPKey{Index: 1}, CrashCount: 2}, "0a 02 10 01 12 00 1a 00 20 02 4a 00"},
		{"ActualLRPsResponse", &ActualLRPsResponse{ActualLrps: []*ActualLRP{{}, {}}}, "12 08 " + emptyLRP + " 12 08 " + emptyLRP},
		{"ActualLRPsByProcessGuidsResponse", &ActualLRPsByProcessGuidsResponse{ActualLrps: []*ActualLRP{{}}}, "12 08 " + emptyLRP},
		{"ActualLRPGroup", &ActualLRPGroup{Instance: &ActualLRP{}, Evacuating: &ActualLRP{}}, "0a 08 " + emptyLRP + " 12 08 " + emptyLRP},
		{"ActualLRPGroupsResponse", &ActualLRPGroupsResponse{ActualLrpGroups: []*ActualLRPGroup{{Instance: &ActualLRP{}}}}, "12 0a 0a 08 " + emptyLRP},
		{"group without members", &ActualLRPGroup{}, ""},
		{"instance created event", &ActualLRPInstanceCreatedEvent{ActualLrp: &ActualLRP{}, TraceId: "t"}, "0a 08 " + emptyLRP + " 12 01 74"},
		{"instance removed event", &ActualLRPInstanceRemovedEvent{ActualLrp: &ActualLRP{}}, "0a 08 " + emptyLRP},
		{"instance changed event", &ActualLRPInstanceChangedEvent{}, "0a 00 12 00"},
		{"instance changed event with infos", &ActualLRPInstanceChangedEvent{Before: &ActualLRPInfo{}, After: &ActualLRPInfo{State: "R"}},
			"0a 00 12 00 1a 04 1a 00 4a 00 22 07 1a 00 32 01 52 4a 00"},
		{"crashed event", &ActualLRPCrashedEvent{CrashCount: 1}, "0a 00 12 00 18 01"},
		{"group changed event", &ActualLRPChangedEvent{After: &ActualLRPGroup{Instance: &ActualLRP{}}}, "12 0a 0a 08 " + emptyLRP},
		{"scheduling info", &DesiredLRPSchedulingInfo{}, "0a 00 22 00 2a 00 32 00"},
		{"scheduling infos response", &DesiredLRPSchedulingInfosResponse{DesiredLrpSchedulingInfos: []*DesiredLRPSchedulingInfo{{Instances: 2}}},
			"12 0a 0a 00 18 02 22 00 2a 00 32 00"},
		{"scheduling info by guid", &DesiredLRPSchedulingInfoByProcessGuidResponse{DesiredLrpSchedulingInfo: &DesiredLRPSchedulingInfo{}},
			"12 08 0a 00 22 00 2a 00 32 00"},
		{"run info", &DesiredLRPRunInfo{Ports: []uint32{8080}}, "0a 00 48 90 3f"},
		{"DesiredLRP has no non-nullable fields", &DesiredLRP{Instances: 1}, "20 01"},

		// Presence (proto3 optional) fields: written when set, even to zero.
		{"update instances 0", &DesiredLRPUpdate{Instances: ptr(int32(0))}, "08 00"},
		{"update annotation empty", &DesiredLRPUpdate{Annotation: ptr("")}, "1a 00"},
		{"update image credentials empty", &DesiredLRPUpdate{ImageUsername: ptr(""), ImagePassword: ptr("")}, "2a 00 32 00"},
		{"update routes present but empty", &DesiredLRPUpdate{Routes: &ProtoRoutes{}}, "12 00"},
		{"update nothing", &DesiredLRPUpdate{}, ""},
		{"routable unset", &ActualLRPInfo{}, "1a 00 4a 00"},
		{"info routable false", &ActualLRPInfo{Routable: ptr(false)}, "1a 00 4a 00 58 00"},
		{"start routable false", &StartActualLRPRequest{Routable: ptr(false)}, "30 00"},
		{"start routable unset", &StartActualLRPRequest{}, ""},
		{"evacuate running routable false", &EvacuateRunningActualLRPRequest{Routable: ptr(false)}, "38 00"},
		{"nofile 0", &ResourceLimits{Nofile: ptr(uint64(0))}, "08 00"},
		{"index unset", &ActualLRPsRequest{ProcessGuid: "p"}, "1a 01 70"},
		{"security group ports unpacked", &SecurityGroupRule{Ports: []uint32{80, 443}}, "18 50 18 bb 03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if want := hexBytes(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("Marshal = % x\nwant      % x", got, want)
			}
		})
	}
}

// TestFillPathsAgree runs the same encodings through the reflective fill
// (typed methods off) to keep both paths honest.
func TestFillPathsAgree(t *testing.T) {
	build := func() proto.Message {
		return &ActualLRPGroupsResponse{ActualLrpGroups: []*ActualLRPGroup{{Instance: &ActualLRP{}, Evacuating: &ActualLRP{CrashCount: 3}}}}
	}
	typed, err := Marshal(build())
	if err != nil {
		t.Fatal(err)
	}
	typedFill = false
	defer func() { typedFill = true }()
	fillCache.Clear()
	defer fillCache.Clear()
	reflective, err := Marshal(build())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(typed, reflective) {
		t.Errorf("typed % x\nreflective % x", typed, reflective)
	}
	for _, m := range []proto.Message{&DesiredLRPSchedulingInfo{}, &DesiredLRPRunInfo{}, &ActualLRPCrashedEvent{}} {
		if b, _ := Marshal(m); len(b) == 0 {
			t.Errorf("%T: reflective fill wrote nothing", m)
		}
	}
}

// TestTypedFillMatchesTable checks the hand-written fill methods against the
// nonNullable table: on an empty message they must set exactly those fields.
func TestTypedFillMatchesTable(t *testing.T) {
	fillers := []proto.Message{
		&ActualLRP{}, &ActualLRPInfo{}, &ActualLRPInstanceChangedEvent{},
		&ActualLRPCrashedEvent{}, &DesiredLRPSchedulingInfo{}, &DesiredLRPRunInfo{},
	}
	if len(fillers) != len(nonNullable) {
		t.Fatalf("%d typed fillers for %d table entries", len(fillers), len(nonNullable))
	}
	for _, m := range fillers {
		m.(nonNullableFiller).fillOwnNonNullable()
		md := m.ProtoReflect().Descriptor()
		want := map[protoreflect.FieldNumber]bool{}
		for _, n := range nonNullable[md.FullName()] {
			want[n] = true
		}
		if len(want) == 0 {
			t.Errorf("%s has a typed filler but no table entry", md.FullName())
		}
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if got := m.ProtoReflect().Has(fd); got != want[fd.Number()] {
				t.Errorf("%s.%s: set=%v, table says %v", md.FullName(), fd.Name(), got, want[fd.Number()])
			}
		}
	}
}

func TestUnmarshalFillsNonNullable(t *testing.T) {
	var lrp ActualLRP
	if err := Unmarshal(hexBytes(t, "20 02"), &lrp); err != nil {
		t.Fatal(err)
	}
	if lrp.ActualLrpKey == nil || lrp.ActualLrpInstanceKey == nil || lrp.ActualLrpNetInfo == nil || lrp.ModificationTag == nil {
		t.Errorf("non-nullable fields left nil: %v", &lrp)
	}
	if lrp.CrashCount != 2 {
		t.Errorf("crash_count = %d", lrp.CrashCount)
	}

	var resp ActualLRPsResponse
	if err := Unmarshal(hexBytes(t, "12 00 12 02 20 01"), &resp); err != nil {
		t.Fatal(err)
	}
	for i, l := range resp.ActualLrps {
		if l.ActualLrpKey == nil || l.ModificationTag == nil {
			t.Errorf("actual_lrps[%d] not filled", i)
		}
	}
}

func TestDecodersAcceptPackedPorts(t *testing.T) {
	tests := []struct {
		name string
		wire string
		msg  proto.Message
		get  func(proto.Message) []uint32
	}{
		{"DesiredLRP", "72 04 90 3f ae 11", &DesiredLRP{}, func(m proto.Message) []uint32 { return m.(*DesiredLRP).Ports }},
		{"DesiredLRPRunInfo", "4a 04 90 3f ae 11", &DesiredLRPRunInfo{}, func(m proto.Message) []uint32 { return m.(*DesiredLRPRunInfo).Ports }},
		{"SecurityGroupRule", "1a 04 90 3f ae 11", &SecurityGroupRule{}, func(m proto.Message) []uint32 { return m.(*SecurityGroupRule).Ports }},
		{"DesiredLRP unpacked", "70 90 3f 70 ae 11", &DesiredLRP{}, func(m proto.Message) []uint32 { return m.(*DesiredLRP).Ports }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Unmarshal(hexBytes(t, tt.wire), tt.msg); err != nil {
				t.Fatal(err)
			}
			if got := tt.get(tt.msg); len(got) != 2 || got[0] != 8080 || got[1] != 2222 {
				t.Errorf("ports = %v, want [8080 2222]", got)
			}
		})
	}
}

func TestPresenceSurvivesDecoding(t *testing.T) {
	var u DesiredLRPUpdate
	if err := Unmarshal(hexBytes(t, "08 00 1a 00"), &u); err != nil {
		t.Fatal(err)
	}
	if u.Instances == nil || *u.Instances != 0 || u.Annotation == nil || *u.Annotation != "" {
		t.Errorf("presence lost: %v", &u)
	}
	if u.ImageUsername != nil || u.Routes != nil {
		t.Errorf("absent fields became present: %v", &u)
	}
	var lrp ActualLRP
	if err := Unmarshal(hexBytes(t, "68 00"), &lrp); err != nil {
		t.Fatal(err)
	}
	if lrp.Routable == nil || *lrp.Routable {
		t.Errorf("routable = %v, want present false", lrp.Routable)
	}
}

func TestMarshalNilAndForeign(t *testing.T) {
	if b, err := Marshal((*ActualLRP)(nil)); err != nil || len(b) != 0 {
		t.Errorf("nil ActualLRP: % x, %v", b, err)
	}
	if b, err := Marshal(&ProtoRoutes{}); err != nil || len(b) != 0 {
		t.Errorf("empty routes: % x, %v", b, err)
	}
	FillNonNullable(nil)
	if err := Unmarshal([]byte{0xff}, &ActualLRP{}); err == nil {
		t.Error("garbage decoded without error")
	}
}
