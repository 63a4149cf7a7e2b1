package models

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// marshalJSON prints m in the reference's JSON form (see jsonFields). The
// output is compact; characters such as '<' are left for encoding/json to
// escape, which it does when it embeds our output, as it did for the
// reference.
func marshalJSON(m proto.Message) ([]byte, error) {
	r := m.ProtoReflect()
	if !r.IsValid() {
		return []byte("null"), nil
	}
	e := &jsonEncoder{}
	if err := e.message(r); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type jsonEncoder struct {
	buf []byte
}

func (e *jsonEncoder) message(m protoreflect.Message) error {
	p, err := jsonPlanFor(m.Descriptor())
	if err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	first := true
	if err := e.members(p, m, &first); err != nil {
		return err
	}
	e.buf = append(e.buf, '}')
	return nil
}

// members prints the fields of m laid out by p, without braces, so that
// flattened sub-messages can share their parent's object.
func (e *jsonEncoder) members(p *jsonPlan, m protoreflect.Message, first *bool) error {
	for _, f := range p.fields {
		fd := f.fd
		has := m.Has(fd)
		switch {
		case f.flatten:
			if has || f.nonNullable {
				// Get yields an empty read-only message when unset.
				if err := e.members(f.embed, m.Get(fd).Message(), first); err != nil {
					return err
				}
			}
		case f.wrapper:
			e.key(f.key, first)
			if !has {
				e.buf = append(e.buf, "null"...)
				continue
			}
			e.buf = append(e.buf, '{')
			v := m.Get(fd)
			if f.innerAlways || !v.Equal(fd.Default()) {
				inner := true
				e.key(f.inner, &inner)
				if err := e.single(fd, v); err != nil {
					return err
				}
			}
			e.buf = append(e.buf, '}')
		case !has && fd.HasPresence() && fd.Message() == nil:
			// An unset proto3 optional scalar is never printed.
		case !has && !f.always && !f.nonNullable:
			// omitempty
		default:
			e.key(f.key, first)
			if err := e.field(f, m, has); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *jsonEncoder) key(k string, first *bool) {
	if !*first {
		e.buf = append(e.buf, ',')
	}
	*first = false
	e.buf = appendJSONString(e.buf, k)
	e.buf = append(e.buf, ':')
}

// field prints the value of a field that is printed; has says whether the
// field is set (non-empty).
func (e *jsonEncoder) field(f *jsonField, m protoreflect.Message, has bool) error {
	fd := f.fd
	switch {
	case fd.IsList():
		if !has {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		l := m.Get(fd).List()
		e.buf = append(e.buf, '[')
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.single(fd, l.Get(i)); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	case fd.IsMap():
		return e.mapValue(fd, m.Get(fd).Map())
	case fd.Message() != nil && !has && !f.nonNullable:
		e.buf = append(e.buf, "null"...)
		return nil
	default:
		return e.single(fd, m.Get(fd))
	}
}

// mapValue prints a map with its keys sorted, as encoding/json does.
func (e *jsonEncoder) mapValue(fd protoreflect.FieldDescriptor, mp protoreflect.Map) error {
	type entry struct {
		key string
		val protoreflect.Value
	}
	entries := make([]entry, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, entry{k.String(), v})
		return true
	})
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	e.buf = append(e.buf, '{')
	first := true
	for _, en := range entries {
		e.key(en.key, &first)
		if err := e.single(fd.MapValue(), en.val); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// single prints one value of fd's element type.
func (e *jsonEncoder) single(fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		b, err := json.Marshal(v.Float())
		if err != nil {
			return fmt.Errorf("models: %s: %w", fd.FullName(), err)
		}
		e.buf = append(e.buf, b...)
	case protoreflect.StringKind:
		e.buf = appendJSONString(e.buf, v.String())
	case protoreflect.BytesKind:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
		e.buf = append(e.buf, '"')
	case protoreflect.EnumKind:
		e.enum(fd.Enum(), v.Enum())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == routesMessage {
			return e.routes(v.Message(), isNonNullable(fd))
		}
		return e.message(v.Message())
	default:
		return fmt.Errorf("models: %s: cannot print kind %s as JSON", fd.FullName(), fd.Kind())
	}
	return nil
}

func (e *jsonEncoder) enum(ed protoreflect.EnumDescriptor, n protoreflect.EnumNumber) {
	style := enumStyles[ed.FullName()]
	if style == enumNumber {
		e.buf = strconv.AppendInt(e.buf, int64(n), 10)
		return
	}
	name := ""
	if ev := ed.Values().ByNumber(n); ev != nil {
		name = string(ev.Name())
	} else if style == enumName {
		name = strconv.Itoa(int(n)) // what a gogo enum's String gave
	}
	e.buf = appendJSONString(e.buf, name)
}

// routes prints a ProtoRoutes as an object of its raw JSON values. Without
// values it prints {}, except for a non-nullable field, which prints null:
// the reference decoded those into a nil map, but optional ones into a
// pointer to an empty map.
func (e *jsonEncoder) routes(m protoreflect.Message, emptyIsNull bool) error {
	fd := m.Descriptor().Fields().ByNumber(1)
	mp := m.Get(fd).Map()
	if mp.Len() == 0 && emptyIsNull {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	keys := make([]string, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	sort.Strings(keys)
	e.buf = append(e.buf, '{')
	first := true
	for _, k := range keys {
		e.key(k, &first)
		raw := mp.Get(protoreflect.ValueOfString(k).MapKey()).Bytes()
		if len(raw) == 0 {
			e.buf = append(e.buf, "null"...)
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return fmt.Errorf("models: route %q is not valid JSON: %w", k, err)
		}
		e.buf = append(e.buf, b.Bytes()...)
	}
	e.buf = append(e.buf, '}')
	return nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s the way encoding/json does, except that it
// leaves '<', '>' and '&' alone (encoding/json escapes those itself when it
// embeds a Marshaler's output, if asked to).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
