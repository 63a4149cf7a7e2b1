package db

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/diego-go/diego/internal/models"
)

// Decoding the metric_tags columns is the largest cost of listing LRPs:
// current reps report about eleven tags per instance, and encoding/json
// (and, for desired LRPs, the models' JSON codec, which keeps the
// reference's forms through descriptors) costs microseconds per row. The
// parsers below read the shapes the BBS itself writes,
//
//	actual LRPs:  {"name":"value",...}
//	desired LRPs: {"name":{"static":"value"},"other":{"dynamic":"INDEX"},...}
//
// with a small scanner and hand anything else (escapes, nulls, numbers,
// unknown names for dynamic, unknown keys, invalid UTF-8) to encoding/json,
// so the result is always what encoding/json would have produced.

// parseStringMap decodes an actual LRP's metric tags.
func parseStringMap(b []byte) (map[string]string, error) {
	if tags, ok := scanStringMap(b); ok {
		return tags, nil
	}
	var tags map[string]string
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, err
	}
	return tags, nil
}

func scanStringMap(b []byte) (map[string]string, bool) {
	s := &tagScanner{b: b}
	if !s.byte('{') {
		return nil, false
	}
	tags := map[string]string{}
	if !s.byte('}') {
		for {
			name, ok := s.str()
			if !ok || !s.byte(':') {
				return nil, false
			}
			if tags[name], ok = s.str(); !ok {
				return nil, false
			}
			if s.byte('}') {
				break
			}
			if !s.byte(',') {
				return nil, false
			}
		}
	}
	s.space()
	return tags, s.i == len(b)
}

// parseMetricTags decodes a desired LRP's metric tags.
func parseMetricTags(b []byte) (map[string]*models.MetricTagValue, error) {
	if tags, ok := scanMetricTags(b); ok {
		return tags, nil
	}
	var tags map[string]*models.MetricTagValue
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// tagScanner walks a JSON text; every method reports false on anything
// outside the fast path's subset.
type tagScanner struct {
	b []byte
	i int
}

func (s *tagScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c after optional white space.
func (s *tagScanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek reports whether the next non-space byte is c, without consuming it.
func (s *tagScanner) peek(c byte) bool {
	s.space()
	return s.i < len(s.b) && s.b[s.i] == c
}

// str reads a string without escapes and with valid UTF-8.
func (s *tagScanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		s.i++
	}
	return "", false
}

func scanMetricTags(b []byte) (map[string]*models.MetricTagValue, bool) {
	s := &tagScanner{b: b}
	if !s.byte('{') {
		return nil, false
	}
	tags := map[string]*models.MetricTagValue{}
	if !s.byte('}') {
		for {
			name, ok := s.str()
			if !ok || !s.byte(':') {
				return nil, false
			}
			v, ok := s.value()
			if !ok {
				return nil, false
			}
			tags[name] = v
			if s.byte('}') {
				break
			}
			if !s.byte(',') {
				return nil, false
			}
		}
	}
	s.space()
	return tags, s.i == len(b)
}

// value reads {"static":"..."} and/or {"dynamic":"NAME"} (a known name),
// each at most once.
func (s *tagScanner) value() (*models.MetricTagValue, bool) {
	if !s.byte('{') {
		return nil, false
	}
	v := &models.MetricTagValue{}
	if s.byte('}') {
		return v, true
	}
	var seenStatic, seenDynamic bool
	for {
		key, ok := s.str()
		if !ok || !s.byte(':') {
			return nil, false
		}
		switch {
		case key == "static" && !seenStatic && s.peek('"'):
			if v.Static, ok = s.str(); !ok {
				return nil, false
			}
			seenStatic = true
		case key == "dynamic" && !seenDynamic && s.peek('"'):
			name, ok := s.str()
			n, known := models.MetricTagValue_DynamicValue_value[name]
			if !ok || !known {
				return nil, false
			}
			v.Dynamic = models.MetricTagValue_DynamicValue(n)
			seenDynamic = true
		default:
			return nil, false
		}
		if s.byte('}') {
			return v, true
		}
		if !s.byte(',') {
			return nil, false
		}
	}
}

// parseRawMap decodes a desired LRP's routes: an object of raw JSON values
// (the values as they appear, as encoding/json's RawMessage keeps them).
func parseRawMap(b []byte) (map[string]json.RawMessage, error) {
	if m, ok := scanRawMap(b); ok {
		return m, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func scanRawMap(b []byte) (map[string]json.RawMessage, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	s := &tagScanner{b: b}
	if !s.byte('{') {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	if !s.byte('}') {
		for {
			name, ok := s.str()
			if !ok || !s.byte(':') {
				return nil, false
			}
			s.space()
			start := s.i
			s.skipValid()
			m[name] = json.RawMessage(b[start:s.i:s.i])
			if s.byte('}') {
				break
			}
			if !s.byte(',') {
				return nil, false
			}
		}
	}
	s.space()
	return m, s.i == len(b)
}

// skipValid moves past one value of a text already known to be valid JSON.
func (s *tagScanner) skipValid() {
	depth := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			s.i++
			for s.i < len(s.b) && s.b[s.i] != '"' {
				if s.b[s.i] == '\\' {
					s.i++
				}
				s.i++
			}
			s.i++
		case '{', '[':
			depth++
			s.i++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing object
			}
			depth--
			s.i++
		case ',':
			if depth == 0 {
				return
			}
			s.i++
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return
			}
			s.i++
		default:
			s.i++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return
		}
	}
}
