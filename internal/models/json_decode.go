package models

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// unmarshalJSON reads the reference's JSON form into m, merging into what m
// already holds the way encoding/json merges into a struct: keys are matched
// exactly or else case-insensitively, unknown keys are ignored, lists are
// replaced, maps and sub-messages are merged, and null clears lists, maps
// and optional fields but leaves plain scalars alone. Missing non-nullable
// sub-messages are set afterwards, as Unmarshal does.
func unmarshalJSON(data []byte, m proto.Message) error {
	if m == nil {
		return errors.New("models: cannot read JSON into a nil message")
	}
	r := m.ProtoReflect()
	if !r.IsValid() {
		return fmt.Errorf("models: cannot read JSON into a nil %s", r.Descriptor().Name())
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // for a precise syntax error
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return fmt.Errorf("models: %s: %w", r.Descriptor().Name(), err)
	}
	if err := decodeMessage(bytes.TrimSpace(data), r); err != nil {
		return err
	}
	FillNonNullable(m)
	return nil
}

// decodeMessage reads one JSON object (already known to be valid JSON) into m.
func decodeMessage(raw []byte, m protoreflect.Message) error {
	md := m.Descriptor()
	if isNull(raw) {
		return nil
	}
	if raw[0] != '{' {
		return typeError(raw, string(md.FullName()))
	}
	p, err := jsonPlanFor(md)
	if err != nil {
		return err
	}
	return forEachMember(raw, func(key string, val []byte) error {
		t, ok := p.keys[key]
		if !ok {
			t, ok = p.folded[strings.ToLower(key)]
		}
		if !ok {
			return nil
		}
		target := m
		for _, fd := range t.via {
			target = target.Mutable(fd).Message()
		}
		return decodeField(target, t.field, val)
	})
}

func decodeField(m protoreflect.Message, f *jsonField, raw []byte) error {
	fd := f.fd
	null := isNull(raw)
	switch {
	case f.wrapper:
		if null {
			m.Clear(fd)
			return nil
		}
		return decodeWrapper(m, f, raw)
	case fd.IsList():
		m.Clear(fd)
		if null {
			return nil
		}
		return decodeList(m.Mutable(fd).List(), fd, raw)
	case fd.IsMap():
		if null {
			m.Clear(fd)
			return nil
		}
		return decodeMap(m.Mutable(fd).Map(), fd, raw)
	case fd.Message() != nil:
		if null {
			if !f.nonNullable {
				m.Clear(fd)
			}
			return nil
		}
		if fd.Message().FullName() == routesMessage {
			return decodeRoutes(m.Mutable(fd).Message(), raw)
		}
		return decodeMessage(raw, m.Mutable(fd).Message())
	case null:
		if fd.HasPresence() {
			m.Clear(fd)
		}
		return nil
	default:
		v, err := decodeScalar(fd, raw)
		if err != nil {
			return err
		}
		m.Set(fd, v)
		return nil
	}
}

// decodeWrapper reads {"inner": v}; an object without the inner key sets the
// zero value, which the writer leaves out when the inner key is omitempty.
func decodeWrapper(m protoreflect.Message, f *jsonField, raw []byte) error {
	if raw[0] != '{' {
		return typeError(raw, string(f.fd.FullName()))
	}
	v := f.fd.Default()
	err := forEachMember(raw, func(key string, val []byte) error {
		if key != f.inner && !strings.EqualFold(key, f.inner) || isNull(val) {
			return nil
		}
		var err error
		v, err = decodeScalar(f.fd, val)
		return err
	})
	if err != nil {
		return err
	}
	m.Set(f.fd, v)
	return nil
}

func decodeList(l protoreflect.List, fd protoreflect.FieldDescriptor, raw []byte) error {
	if raw[0] != '[' {
		return typeError(raw, string(fd.FullName()))
	}
	return forEachElement(raw, func(val []byte) error {
		if fd.Message() != nil {
			e := l.NewElement()
			if err := decodeMessage(val, e.Message()); err != nil {
				return err
			}
			l.Append(e)
			return nil
		}
		if isNull(val) {
			l.Append(zeroScalar(fd))
			return nil
		}
		v, err := decodeScalar(fd, val)
		if err != nil {
			return err
		}
		l.Append(v)
		return nil
	})
}

func decodeMap(mp protoreflect.Map, fd protoreflect.FieldDescriptor, raw []byte) error {
	if raw[0] != '{' {
		return typeError(raw, string(fd.FullName()))
	}
	vd := fd.MapValue()
	return forEachMember(raw, func(key string, val []byte) error {
		k, err := mapKey(fd.MapKey(), key)
		if err != nil {
			return err
		}
		if vd.Message() != nil {
			v := mp.NewValue()
			if err := decodeMessage(val, v.Message()); err != nil {
				return err
			}
			mp.Set(k, v)
			return nil
		}
		if isNull(val) {
			mp.Set(k, vd.Default())
			return nil
		}
		v, err := decodeScalar(vd, val)
		if err != nil {
			return err
		}
		mp.Set(k, v)
		return nil
	})
}

// decodeRoutes keeps every value of the object as raw JSON bytes.
func decodeRoutes(m protoreflect.Message, raw []byte) error {
	if raw[0] != '{' {
		return typeError(raw, "routes")
	}
	mp := m.Mutable(m.Descriptor().Fields().ByNumber(1)).Map()
	return forEachMember(raw, func(key string, val []byte) error {
		mp.Set(protoreflect.ValueOfString(key).MapKey(), protoreflect.ValueOfBytes(bytes.Clone(val)))
		return nil
	})
}

func mapKey(fd protoreflect.FieldDescriptor, s string) (protoreflect.MapKey, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s).MapKey(), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b).MapKey(), err
	default:
		v, err := decodeScalar(fd, []byte(s))
		return v.MapKey(), err
	}
}

// decodeScalar reads a non-null JSON value of a scalar or enum field,
// rejecting the type mismatches encoding/json rejected.
func decodeScalar(fd protoreflect.FieldDescriptor, raw []byte) (protoreflect.Value, error) {
	name := string(fd.FullName())
	s := string(raw)
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if s != "true" && s != "false" {
			return protoreflect.Value{}, typeError(raw, name)
		}
		return protoreflect.ValueOfBool(s == "true"), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := parseInt(raw, name, 32)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := parseInt(raw, name, 64)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := parseUint(raw, name, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := parseUint(raw, name, 64)
		return protoreflect.ValueOfUint64(n), err
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if !isNumber(raw) {
			return protoreflect.Value{}, typeError(raw, name)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("models: %s: %w", name, err)
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.StringKind:
		str, err := decodeString(raw, name)
		return protoreflect.ValueOfString(str), err
	case protoreflect.BytesKind:
		str, err := decodeString(raw, name)
		if err != nil {
			return protoreflect.Value{}, err
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("models: %s: %w", name, err)
		}
		return protoreflect.ValueOfBytes(b), nil
	case protoreflect.EnumKind:
		return decodeEnum(fd.Enum(), raw, name)
	}
	return protoreflect.Value{}, fmt.Errorf("models: %s: cannot read kind %s from JSON", name, fd.Kind())
}

func decodeEnum(ed protoreflect.EnumDescriptor, raw []byte, field string) (protoreflect.Value, error) {
	style := enumStyles[ed.FullName()]
	if style == enumNumber {
		n, err := parseInt(raw, field, 32)
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), err
	}
	name, err := decodeString(raw, field)
	if err != nil {
		return protoreflect.Value{}, err
	}
	if ev := ed.Values().ByName(protoreflect.Name(name)); ev != nil {
		return protoreflect.ValueOfEnum(ev.Number()), nil
	}
	if style == enumLoose {
		return protoreflect.ValueOfEnum(0), nil
	}
	return protoreflect.Value{}, fmt.Errorf("models: %s: invalid %s: %q", field, ed.Name(), name)
}

func decodeString(raw []byte, field string) (string, error) {
	if raw[0] != '"' {
		return "", typeError(raw, field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("models: %s: %w", field, err)
	}
	return s, nil
}

func parseInt(raw []byte, field string, bits int) (int64, error) {
	if !isNumber(raw) {
		return 0, typeError(raw, field)
	}
	n, err := strconv.ParseInt(string(raw), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("models: %s: cannot read number %s into int%d", field, raw, bits)
	}
	return n, nil
}

func parseUint(raw []byte, field string, bits int) (uint64, error) {
	if !isNumber(raw) {
		return 0, typeError(raw, field)
	}
	n, err := strconv.ParseUint(string(raw), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("models: %s: cannot read number %s into uint%d", field, raw, bits)
	}
	return n, nil
}

// zeroScalar is the zero value of fd's element kind (Default is not
// defined for repeated fields).
func zeroScalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(false)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(0)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(0)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(0)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(0)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("")
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(nil)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(0)
	}
	return protoreflect.Value{}
}

func isNumber(raw []byte) bool {
	return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')
}

func isNull(raw []byte) bool {
	return string(raw) == "null"
}

// typeError describes a JSON value of the wrong type for a field.
func typeError(raw []byte, field string) error {
	kind := "value"
	switch raw[0] {
	case '{':
		kind = "object"
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "bool"
	default:
		if isNumber(raw) {
			kind = "number"
		}
	}
	return fmt.Errorf("models: cannot read a JSON %s into %s", kind, field)
}

// forEachMember calls fn with each key and raw value of a JSON object, in
// document order. raw must be a valid JSON object.
func forEachMember(raw []byte, fn func(key string, val []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if err := fn(key, bytes.TrimSpace(val)); err != nil {
			return err
		}
	}
	return nil
}

// forEachElement calls fn with each raw element of a valid JSON array.
func forEachElement(raw []byte, fn func(val []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // [
		return err
	}
	for dec.More() {
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if err := fn(bytes.TrimSpace(val)); err != nil {
			return err
		}
	}
	return nil
}
