package models

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestJSONInput covers specs as people write them for cfdot: partial,
// reordered, odd capitalisation, nulls, unknown keys.
func TestJSONInput(t *testing.T) {
	t.Run("desired LRP spec keeps raw routes", func(t *testing.T) {
		var d DesiredLRP
		spec := `{"process_guid":"pg","domain":"d","rootfs":"preloaded:cflinuxfs4","instances":1,
			"action":{"run":{"path":"/bin/sh","user":"vcap"}},"ports":[8080],
			"routes":{"cf-router": [ {"hostnames":["a"], "port": 8080} ]},"unknown":{"x":[1,2]}}`
		if err := json.Unmarshal([]byte(spec), &d); err != nil {
			t.Fatal(err)
		}
		if d.RootFs != "preloaded:cflinuxfs4" || d.Action.GetRunAction().GetPath() != "/bin/sh" || d.Ports[0] != 8080 {
			t.Errorf("fields not read: %v", &d)
		}
		if got := string(d.Routes.Raw("cf-router")); got != `[ {"hostnames":["a"], "port": 8080} ]` {
			t.Errorf("route bytes = %q, want them verbatim", got)
		}
		out, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"routes":{"cf-router":[{"hostnames":["a"],"port":8080}]}`) {
			t.Errorf("routes not printed compact: %s", out)
		}
	})
	t.Run("task spec fills the embedded definition", func(t *testing.T) {
		var task Task
		if err := json.Unmarshal([]byte(`{"task_guid":"t","domain":"d","rootfs":"docker:///busybox","action":{"run":{"path":"echo"}}}`), &task); err != nil {
			t.Fatal(err)
		}
		if task.TaskGuid != "t" || task.GetTaskDefinition().GetRootFs() != "docker:///busybox" || task.TaskDefinition.Action == nil {
			t.Errorf("task = %v", &task)
		}
		var bare Task
		if err := json.Unmarshal([]byte(`{"task_guid":"t"}`), &bare); err != nil {
			t.Fatal(err)
		}
		if bare.TaskDefinition != nil {
			t.Errorf("definition allocated without any of its keys")
		}
	})
	t.Run("update presence", func(t *testing.T) {
		var u DesiredLRPUpdate
		if err := json.Unmarshal([]byte(`{"instances":0,"annotation":null,"routes":null}`), &u); err != nil {
			t.Fatal(err)
		}
		if u.Instances == nil || *u.Instances != 0 || u.Annotation != nil || u.Routes != nil {
			t.Errorf("update = %v", &u)
		}
		if err := json.Unmarshal([]byte(`{"routes":{}}`), &u); err != nil {
			t.Fatal(err)
		}
		if b, _ := Marshal(&u); string(b) != "\x08\x00\x12\x00" {
			t.Errorf("wire = % x, want instances 0 and empty routes", b)
		}
	})
	t.Run("keys match case-insensitively", func(t *testing.T) {
		var d DesiredLRP
		if err := json.Unmarshal([]byte(`{"PROCESS_GUID":"pg","RootFS":"r","Placement_Tags":["x"]}`), &d); err != nil {
			t.Fatal(err)
		}
		if d.ProcessGuid != "pg" || d.RootFs != "r" || len(d.PlacementTags) != 1 {
			t.Errorf("got %v", &d)
		}
	})
	t.Run("wrapped routable", func(t *testing.T) {
		var lrp ActualLRP
		if err := json.Unmarshal([]byte(`{"OptionalRoutable":{"routable":true}}`), &lrp); err != nil || !lrp.GetRoutable() {
			t.Errorf("routable = %v, err %v", lrp.Routable, err)
		}
		var info ActualLRPInfo
		if err := json.Unmarshal([]byte(`{"OptionalRoutable":{}}`), &info); err != nil || info.Routable == nil || *info.Routable {
			t.Errorf("empty wrapper should mean present false: %v, err %v", info.Routable, err)
		}
		if err := json.Unmarshal([]byte(`{"OptionalRoutable":null}`), &info); err != nil || info.Routable != nil {
			t.Errorf("null wrapper should clear: %v, err %v", info.Routable, err)
		}
	})
	t.Run("merges like encoding/json", func(t *testing.T) {
		d := &DesiredLRP{ProcessGuid: "keep", Ports: []uint32{1, 2}, MetricTags: map[string]*MetricTagValue{"a": {Static: "1"}}}
		if err := json.Unmarshal([]byte(`{"ports":[3],"metric_tags":{"b":{"static":"2"}},"process_guid":null}`), d); err != nil {
			t.Fatal(err)
		}
		if d.ProcessGuid != "keep" || len(d.Ports) != 1 || d.Ports[0] != 3 || len(d.MetricTags) != 2 {
			t.Errorf("got %v", d)
		}
	})
	t.Run("loose dynamic metric tag", func(t *testing.T) {
		var v MetricTagValue
		if err := json.Unmarshal([]byte(`{"dynamic":"NOPE"}`), &v); err != nil || v.Dynamic != 0 {
			t.Errorf("got %v, err %v", &v, err)
		}
	})
	t.Run("non-nullable filled after decoding", func(t *testing.T) {
		var lrp ActualLRP
		if err := json.Unmarshal([]byte(`{"state":"RUNNING"}`), &lrp); err != nil {
			t.Fatal(err)
		}
		if lrp.ActualLrpKey == nil || lrp.ModificationTag == nil {
			t.Errorf("not filled: %v", &lrp)
		}
	})
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		in   string
	}{
		{"truncated", &DesiredLRP{}, `{"process_guid":`},
		{"trailing garbage", &DesiredLRP{}, `{} x`},
		{"empty input", &DesiredLRP{}, ``},
		{"array at top", &DesiredLRP{}, `[]`},
		{"string for int", &DesiredLRP{}, `{"instances":"3"}`},
		{"float for int", &DesiredLRP{}, `{"instances":1.5}`},
		{"exponent for int", &DesiredLRP{}, `{"instances":1e3}`},
		{"int32 overflow", &DesiredLRP{}, `{"instances":3000000000}`},
		{"negative uint", &DesiredLRP{}, `{"ports":[-1]}`},
		{"number for string", &DesiredLRP{}, `{"rootfs":1}`},
		{"string for bool", &DesiredLRP{}, `{"privileged":"true"}`},
		{"object for list", &DesiredLRP{}, `{"env":{"name":"x"}}`},
		{"list for message", &DesiredLRP{}, `{"action":[]}`},
		{"string for map", &DesiredLRP{}, `{"metric_tags":"x"}`},
		{"routes not an object", &DesiredLRP{}, `{"routes":[1]}`},
		{"unknown enum name", &Task{}, `{"state":"Done"}`},
		{"number for named enum", &Task{}, `{"state":3}`},
		{"string for numbered enum", &DesiredLRP{}, `{"update_strategy":"RECREATE"}`},
		{"unknown presence", &ActualLRP{}, `{"presence":"GONE"}`},
		{"bad wrapper", &ActualLRP{}, `{"OptionalRoutable":true}`},
		{"bad wrapped value", &ActualLRP{}, `{"OptionalRoutable":{"routable":"yes"}}`},
		{"deep error", &DesiredLRP{}, `{"action":{"serial":{"actions":[{"run":{"args":[1]}}]}}}`},
		{"error type as number", &Error{}, `{"type":13}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.in), tt.msg); err == nil {
				t.Errorf("no error for %s; got %v", tt.in, tt.msg)
			}
		})
	}

	var nilLRP *ActualLRP
	if err := nilLRP.UnmarshalJSON([]byte(`{}`)); err == nil {
		t.Error("UnmarshalJSON on nil receiver succeeded")
	}
	if b, err := nilLRP.MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("MarshalJSON on nil = %s, %v", b, err)
	}
	bad := &DesiredLRP{Routes: &ProtoRoutes{Routes: map[string][]byte{"cf-router": []byte("{not json")}}}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("invalid route JSON printed without error")
	}
}

// TestJSONLayoutTable checks the jsonFields table itself: every entry names
// a message, every message lays out without error, and no object has two
// fields under one key.
func TestJSONLayoutTable(t *testing.T) {
	for name := range jsonFields {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("models." + name)); err != nil {
			t.Errorf("jsonFields names unknown message %s", name)
		}
	}
	for _, mt := range bbsMessageTypes() {
		p, err := jsonPlanFor(mt.Descriptor())
		if err != nil {
			t.Errorf("%s: %v", mt.Descriptor().FullName(), err)
			continue
		}
		seen := map[string]bool{}
		var walk func(p *jsonPlan)
		walk = func(p *jsonPlan) {
			for _, f := range p.fields {
				if f.flatten {
					walk(f.embed)
					continue
				}
				if seen[f.key] {
					t.Errorf("%s: key %q used twice", mt.Descriptor().FullName(), f.key)
				}
				seen[f.key] = true
			}
		}
		walk(p)
	}
}

func bbsMessageTypes() []protoreflect.MessageType {
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if strings.HasPrefix(mt.Descriptor().ParentFile().Path(), "models/") {
			out = append(out, mt)
		}
		return true
	})
	return out
}

// TestRandomRoundTrips fills every message type with random values and
// checks JSON -> message and wire -> message give back what went in.
func TestRandomRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, mt := range bbsMessageTypes() {
		for i := 0; i < 30; i++ {
			m := mt.New()
			fillRandom(r, m, 0)
			msg := m.Interface()
			FillNonNullable(msg)

			js, err := json.Marshal(msg)
			if err != nil {
				t.Fatalf("%s: %v", mt.Descriptor().Name(), err)
			}
			fromJSON := mt.New().Interface()
			if err := json.Unmarshal(js, fromJSON); err != nil {
				t.Fatalf("%s: %v\n%s", mt.Descriptor().Name(), err, js)
			}
			if !proto.Equal(msg, fromJSON) {
				t.Fatalf("%s JSON round trip\n in: %v\nout: %v\njson: %s", mt.Descriptor().Name(), msg, fromJSON, js)
			}

			wire, err := Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			fromWire := mt.New().Interface()
			if err := Unmarshal(wire, fromWire); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(msg, fromWire) {
				t.Fatalf("%s wire round trip\n in: %v\nout: %v", mt.Descriptor().Name(), msg, fromWire)
			}
		}
	}
}

var (
	sampleStrings = []string{"", "a", "cf-apps", "<&>", "é☃", "line\nbreak\t\"q\"\\", "\u2028", "\x01"}
	// Compact and free of <, > and &: encoding/json re-escapes those inside
	// raw values (as it did for the reference), which changes the bytes.
	sampleRoutes = []string{`[{"hostnames":["a.b"],"port":8080}]`, `{"x":1}`, `[]`, `"s"`, `null`}
)

// fillRandom sets a random subset of m's fields, recursing a few levels.
func fillRandom(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if r.Intn(3) == 0 || (depth > 3 && (fd.Message() != nil || fd.IsMap())) {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := r.Intn(3); j > 0; j-- {
				if fd.Message() != nil {
					e := l.NewElement()
					fillRandom(r, e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(randomScalar(r, fd))
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for j := r.Intn(3); j > 0; j-- {
				k := protoreflect.ValueOfString(sampleStrings[r.Intn(len(sampleStrings))]).MapKey()
				switch vd := fd.MapValue(); {
				case vd.Message() != nil:
					v := mp.NewValue()
					fillRandom(r, v.Message(), depth+1)
					mp.Set(k, v)
				case vd.Kind() == protoreflect.BytesKind:
					mp.Set(k, protoreflect.ValueOfBytes([]byte(sampleRoutes[r.Intn(len(sampleRoutes))])))
				default:
					mp.Set(k, randomScalar(r, vd))
				}
			}
		case fd.Message() != nil:
			fillRandom(r, m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, randomScalar(r, fd))
		}
	}
}

func randomScalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	if r.Intn(4) == 0 {
		return zeroScalar(fd)
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(r.Int31() - r.Int31())
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(r.Int63() - r.Int63())
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(sampleStrings[r.Intn(len(sampleStrings))])
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(sampleRoutes[r.Intn(len(sampleRoutes))]))
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		return protoreflect.ValueOfEnum(values.Get(r.Intn(values.Len())).Number())
	}
	return zeroScalar(fd)
}

// FuzzDesiredLRPJSON: arbitrary input must never panic, and whatever is
// accepted must print, and printing what was read back must not change the
// text (raw route values are compacted and escaped on the way out, as the
// reference did, so the first reading may differ in those bytes).
func FuzzDesiredLRPJSON(f *testing.F) {
	for _, g := range jsonGoldens {
		f.Add([]byte(g.want))
	}
	f.Add([]byte(`{"routes":{"a":null},"env":[null],"ports":[null],"metric_tags":{"x":null}}`))
	f.Add([]byte(`{"OptionalRoutable":{"Routable":null},"PLACEMENT_TAGS":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&DesiredLRP{}, &Task{}, &ActualLRP{}, &DesiredLRPUpdate{}} {
			if err := json.Unmarshal(data, m); err != nil {
				continue
			}
			if _, err := Marshal(m); err != nil {
				t.Fatalf("accepted %s but cannot encode it: %v", data, err)
			}
			out, err := json.Marshal(m)
			if err != nil {
				t.Fatalf("accepted %s but cannot print it: %v", data, err)
			}
			again := m.ProtoReflect().New().Interface()
			if err := json.Unmarshal(out, again); err != nil {
				t.Fatalf("cannot read own output %s: %v", out, err)
			}
			out2, err := json.Marshal(again)
			if err != nil || string(out2) != string(out) {
				t.Fatalf("unstable: %s\nfirst %s\nthen  %s (%v)", data, out, out2, err)
			}
		}
	})
}
