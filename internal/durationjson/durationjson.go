// Package durationjson provides Duration, a time.Duration that reads and
// writes JSON the way the reference's config files spell durations: as Go
// duration strings ("10s", "1h30m"). Plain JSON numbers are accepted too and
// mean nanoseconds, as they do for a bare time.Duration, so both spellings
// found in existing config files load.
//
// Use it for every duration key of a daemon's JSON config:
//
//	type Config struct {
//		ReportInterval durationjson.Duration `json:"report_interval,omitempty"`
//	}
//
//	interval := time.Duration(cfg.ReportInterval) // or cfg.ReportInterval.D()
package durationjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration with a JSON form of a Go duration string.
// The zero value is a zero duration. A JSON null leaves it unchanged.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the Go duration string, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts a Go duration string ("10s", "0", "-1m") or a JSON
// integer of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: want a Go duration string such as \"10s\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"10s\" or integer nanoseconds", b)
	}
	v, err := n.Int64()
	if err != nil {
		return fmt.Errorf("duration %s: want a string such as \"10s\" or integer nanoseconds", b)
	}
	*d = Duration(v)
	return nil
}
