package models

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// nonNullable lists the sub-message fields the reference always writes, even
// when empty (tag and a zero length). Ruby clients dereference them without a
// nil check, so they must never be missing on our wire either. The JSON codec
// reads this table too: such fields are never printed as null.
var nonNullable = map[protoreflect.FullName][]protoreflect.FieldNumber{
	"models.ActualLRP":                     {1, 2, 3, 9},
	"models.ActualLRPInfo":                 {3, 9},
	"models.ActualLRPInstanceChangedEvent": {1, 2},
	"models.ActualLRPCrashedEvent":         {1, 2},
	"models.DesiredLRPSchedulingInfo":      {1, 4, 5, 6},
	"models.DesiredLRPRunInfo":             {1},
}

// isNonNullable reports whether fd is one of the always-written fields.
func isNonNullable(fd protoreflect.FieldDescriptor) bool {
	for _, n := range nonNullable[fd.ContainingMessage().FullName()] {
		if n == fd.Number() {
			return true
		}
	}
	return false
}

// Marshal encodes m as the reference would: like proto.Marshal, after setting
// every nil non-nullable sub-message anywhere in m to an empty message.
//
// Marshal writes those empty messages into m itself and changes nothing else.
// A message that is already complete (built with its keys set, or obtained
// from Unmarshal) is only read, so it may be marshalled from several
// goroutines at once; otherwise call FillNonNullable before sharing it.
func Marshal(m proto.Message) ([]byte, error) {
	FillNonNullable(m)
	return proto.Marshal(m)
}

// Unmarshal decodes b into m (like proto.Unmarshal) and then sets every
// missing non-nullable sub-message, so callers never meet a nil key where
// the reference would have had a value.
func Unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return err
	}
	FillNonNullable(m)
	return nil
}

// FillNonNullable sets every nil non-nullable sub-message in m's tree to an
// empty message. It only descends into fields whose type can contain such a
// field, so for most messages it costs one map lookup.
func FillNonNullable(m proto.Message) {
	if m == nil {
		return
	}
	r := m.ProtoReflect()
	if !r.IsValid() {
		return
	}
	if p := fillPlanFor(r.Descriptor()); p != nil {
		p.fill(r)
	}
}

// fillPlan says what to do for one message type: which fields to set and
// which fields to walk into because their type needs filling somewhere.
type fillPlan struct {
	set     []protoreflect.FieldDescriptor
	typed   bool // the Go type fills its own fields (fill_typed.go)
	descend []fillStep
}

type fillStep struct {
	fd   protoreflect.FieldDescriptor
	plan *fillPlan
}

func (p *fillPlan) fill(m protoreflect.Message) {
	if f, ok := m.Interface().(nonNullableFiller); ok && p.typed {
		f.fillOwnNonNullable()
	} else {
		for _, fd := range p.set {
			if !m.Has(fd) {
				m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
			}
		}
	}
	for _, s := range p.descend {
		if !m.Has(s.fd) {
			continue
		}
		v := m.Get(s.fd)
		switch {
		case s.fd.IsList():
			l := v.List()
			for i, n := 0, l.Len(); i < n; i++ {
				s.plan.fill(l.Get(i).Message())
			}
		case s.fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
				s.plan.fill(e.Message())
				return true
			})
		default:
			s.plan.fill(v.Message())
		}
	}
}

// typedFill lets plans use the direct fill methods; tests turn it off to
// exercise the reflective path.
var typedFill = true

var (
	fillMu    sync.Mutex
	fillCache sync.Map // protoreflect.MessageDescriptor -> *fillPlan (nil: nothing to do)
)

// fillPlanFor returns the plan of md, or nil when no message reachable from
// md has a non-nullable field.
func fillPlanFor(md protoreflect.MessageDescriptor) *fillPlan {
	if p, ok := fillCache.Load(md); ok {
		return p.(*fillPlan)
	}
	fillMu.Lock()
	defer fillMu.Unlock()
	if p, ok := fillCache.Load(md); ok {
		return p.(*fillPlan)
	}
	buildFillPlans(md)
	p, _ := fillCache.Load(md)
	return p.(*fillPlan)
}

// buildFillPlans computes the plans of md and of every message type
// reachable from it, and stores them all in fillCache. Types may be
// recursive (Action contains Actions), so "needs filling" is found as a
// fixed point rather than by plain recursion.
func buildFillPlans(root protoreflect.MessageDescriptor) {
	var order []protoreflect.MessageDescriptor
	seen := map[protoreflect.MessageDescriptor]bool{}
	var visit func(md protoreflect.MessageDescriptor)
	visit = func(md protoreflect.MessageDescriptor) {
		if seen[md] {
			return
		}
		if _, done := fillCache.Load(md); done {
			return
		}
		seen[md] = true
		order = append(order, md)
		for _, fd := range messageFields(md) {
			visit(elemMessage(fd))
		}
	}
	visit(root)

	needs := map[protoreflect.MessageDescriptor]bool{}
	for _, md := range order {
		needs[md] = len(nonNullable[md.FullName()]) > 0
	}
	childNeeds := func(md protoreflect.MessageDescriptor) bool {
		if n, ok := needs[md]; ok {
			return n
		}
		p, _ := fillCache.Load(md) // built earlier
		return p.(*fillPlan) != nil
	}
	for changed := true; changed; {
		changed = false
		for _, md := range order {
			if needs[md] {
				continue
			}
			for _, fd := range messageFields(md) {
				if childNeeds(elemMessage(fd)) {
					needs[md], changed = true, true
					break
				}
			}
		}
	}

	plans := map[protoreflect.MessageDescriptor]*fillPlan{}
	for _, md := range order {
		if needs[md] {
			plans[md] = &fillPlan{}
		}
	}
	planOf := func(md protoreflect.MessageDescriptor) *fillPlan {
		if p, ok := plans[md]; ok {
			return p
		}
		if p, ok := fillCache.Load(md); ok {
			return p.(*fillPlan)
		}
		return nil
	}
	for md, p := range plans {
		p.typed = typedFill
		for _, fd := range messageFields(md) {
			if !fd.IsList() && !fd.IsMap() && isNonNullable(fd) {
				p.set = append(p.set, fd)
			}
			if child := planOf(elemMessage(fd)); child != nil {
				p.descend = append(p.descend, fillStep{fd: fd, plan: child})
			}
		}
	}
	for _, md := range order {
		fillCache.Store(md, plans[md])
	}
}

// messageFields returns the fields of md that hold messages: singular,
// repeated, or as map values.
func messageFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	var out []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); elemMessage(fd) != nil {
			out = append(out, fd)
		}
	}
	return out
}

// elemMessage is the message type of one element of fd (the value type for
// a map), or nil when the elements are not messages.
func elemMessage(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	if fd.IsMap() {
		return fd.MapValue().Message()
	}
	return fd.Message()
}
