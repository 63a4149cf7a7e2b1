package models

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fillEveryField sets every field of m, recursively (to depth levels), to a
// non-zero value, so that a round trip that drops a field, even one added
// to the proto later, is noticed.
func fillEveryField(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			key := protoreflect.ValueOfString(fmt.Sprintf("k-%s", fd.Name())).MapKey()
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v := mp.NewValue()
				fillEveryField(v.Message(), depth-1)
				mp.Set(key, v)
			} else {
				mp.Set(key, fillEveryScalar(fd.MapValue(), 1))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			if fd.Kind() == protoreflect.MessageKind {
				if depth > 0 {
					v := l.NewElement()
					fillEveryField(v.Message(), depth-1)
					l.Append(v)
				}
			} else {
				l.Append(fillEveryScalar(fd, 1))
				l.Append(fillEveryScalar(fd, 2))
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fillEveryField(m.Mutable(fd).Message(), depth-1)
			}
		default:
			m.Set(fd, fillEveryScalar(fd, 1))
		}
	}
}

func fillEveryScalar(fd protoreflect.FieldDescriptor, n int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("%s-%d", fd.Name(), n))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(fmt.Sprintf(`"%s-%d"`, fd.Name(), n)))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(fd.Enum().Values().Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(10 + n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(1000 + n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(8080 + n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(100 + n))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.5)
	}
	panic("unhandled kind " + fd.Kind().String())
}

// unsetFieldNames names the fields of m that are not set.
func unsetFieldNames(m protoreflect.Message) []string {
	var out []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); !m.Has(fd) {
			out = append(out, string(fd.Name()))
		}
	}
	return out
}

func everyFieldDesiredLRP() *DesiredLRP {
	d := &DesiredLRP{}
	fillEveryField(d.ProtoReflect(), 3)
	return d
}

func TestDesiredLRPPartsRoundTrip(t *testing.T) {
	d := everyFieldDesiredLRP()
	if unset := unsetFieldNames(d.ProtoReflect()); len(unset) > 0 {
		t.Fatalf("fixture leaves %v unset", unset)
	}
	sched, run := d.SchedulingInfo(), d.RunInfo(99)
	if unset := unsetFieldNames(sched.ProtoReflect()); len(unset) > 0 {
		t.Errorf("scheduling info leaves %v unset", unset)
	}
	// Run info 6 (deprecated start timeout) and 25 (metric tags, now a
	// column of their own) are not written, as by the reference.
	if unset := unsetFieldNames(run.ProtoReflect()); !slices.Equal(unset, []string{"deprecated_start_timeout_s", "metric_tags"}) {
		t.Errorf("run info leaves %v unset", unset)
	}
	if run.CreatedAt != 99 {
		t.Errorf("created at %d", run.CreatedAt)
	}
	if got := sched.VolumePlacement.DriverNames; !slices.Equal(got, []string{d.VolumeMounts[0].Driver}) {
		t.Errorf("volume placement %v", got)
	}

	// Through the wire form too, as the store does.
	runBytes, err := Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	schedBytes, err := Marshal(sched)
	if err != nil {
		t.Fatal(err)
	}
	run2, sched2 := &DesiredLRPRunInfo{}, &DesiredLRPSchedulingInfo{}
	if err := Unmarshal(runBytes, run2); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(schedBytes, sched2); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(d).(*DesiredLRP)
	want.DeprecatedStartTimeoutS = 0
	for _, pair := range []struct {
		s *DesiredLRPSchedulingInfo
		r *DesiredLRPRunInfo
	}{{sched, run}, {sched2, run2}} {
		got := NewDesiredLRP(pair.s, pair.r, d.MetricTags, d.UpdateStrategy)
		if !proto.Equal(got, want) {
			t.Fatalf("round trip:\n got %v\nwant %v", got, want)
		}
	}
}

func TestDesiredLRPPartsOfAnEmptyLRP(t *testing.T) {
	d := &DesiredLRP{ProcessGuid: "p"}
	s := d.SchedulingInfo()
	if s.DesiredLrpKey == nil || s.DesiredLrpResource == nil || s.Routes == nil || s.ModificationTag == nil || s.VolumePlacement == nil {
		t.Fatalf("non-nullable fields missing: %v", s)
	}
	got := NewDesiredLRP(s, nil, nil, DesiredLRP_ROLLING)
	if got.Routes == nil || got.ModificationTag == nil || got.ProcessGuid != "p" {
		t.Fatalf("joined %v", got)
	}
	r := d.RoutingInfo()
	if r.ProcessGuid != "p" || r.Routes == nil || r.ModificationTag == nil || r.Action != nil {
		t.Fatalf("routing info %v", r)
	}
}

func TestApplyUpdate(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	str := func(v string) *string { return &v }
	base := func() (*DesiredLRPSchedulingInfo, *DesiredLRPRunInfo) {
		return &DesiredLRPSchedulingInfo{Instances: 1, Annotation: "a", Routes: oneRouteForTest("r", "[1]"),
				ModificationTag: &ModificationTag{Epoch: "e", Index: 4}},
			&DesiredLRPRunInfo{ImageUsername: "u", ImagePassword: "p"}
	}
	cases := []struct {
		name       string
		update     *DesiredLRPUpdate
		instances  int32
		annotation string
		routes     string
		user, pass string
		runChanged bool
		tags       bool
	}{
		{"nothing", &DesiredLRPUpdate{}, 1, "a", "[1]", "u", "p", false, false},
		{"instances to zero", &DesiredLRPUpdate{Instances: i32(0)}, 0, "a", "[1]", "u", "p", false, false},
		{"annotation to empty", &DesiredLRPUpdate{Annotation: str("")}, 1, "", "[1]", "u", "p", false, false},
		{"routes replaced", &DesiredLRPUpdate{Routes: oneRouteForTest("r", "[2]")}, 1, "a", "[2]", "u", "p", false, false},
		{"routes emptied", &DesiredLRPUpdate{Routes: &ProtoRoutes{}}, 1, "a", "", "u", "p", false, false},
		{"image credentials", &DesiredLRPUpdate{ImageUsername: str("u2"), ImagePassword: str("p2")}, 1, "a", "[1]", "u2", "p2", true, false},
		{"metric tags", &DesiredLRPUpdate{MetricTags: map[string]*MetricTagValue{"x": {Static: "y"}}}, 1, "a", "[1]", "u", "p", false, true},
		{"empty metric tags", &DesiredLRPUpdate{MetricTags: map[string]*MetricTagValue{}}, 1, "a", "[1]", "u", "p", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, r := base()
			s.ApplyUpdate(c.update)
			changed := r.ApplyUpdate(c.update)
			if s.Instances != c.instances || s.Annotation != c.annotation || string(s.Routes.Raw("r")) != c.routes ||
				s.ModificationTag.Index != 5 || s.ModificationTag.Epoch != "e" {
				t.Errorf("scheduling info %v", s)
			}
			if changed != c.runChanged || r.ImageUsername != c.user || r.ImagePassword != c.pass {
				t.Errorf("run info %v (changed %v)", r, changed)
			}
			if c.update.ReplacesMetricTags() != c.tags {
				t.Errorf("replaces metric tags: %v", !c.tags)
			}
		})
	}
}

// oneRouteForTest is a one-router ProtoRoutes for tests.
func oneRouteForTest(key, raw string) *ProtoRoutes {
	return &ProtoRoutes{Routes: map[string][]byte{key: []byte(raw)}}
}

func TestDedupPorts(t *testing.T) {
	many := make([]uint32, 40)
	for i := range many {
		many[i] = uint32(i % 20)
	}
	cases := []struct{ in, want []uint32 }{
		{nil, nil},
		{[]uint32{8080}, []uint32{8080}},
		{[]uint32{8080, 9090}, []uint32{8080, 9090}},
		{[]uint32{8080, 2222, 8080, 9090, 2222}, []uint32{8080, 2222, 9090}},
		{many, many[:20]},
	}
	for _, c := range cases {
		if got := DedupPorts(c.in); !slices.Equal(got, c.want) {
			t.Errorf("DedupPorts(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
