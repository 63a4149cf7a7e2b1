package daemon

import (
	"encoding/json"
	"fmt"
)

// UnmarshalFlat decodes one JSON object into several structs, each taking
// the keys it knows: how a daemon config made of shared blocks (SQL,
// encryption, locket client, ...) keeps the reference's flat key layout
// without embedding types of the same name.
func UnmarshalFlat(data []byte, parts ...any) error {
	for _, p := range parts {
		if err := json.Unmarshal(data, p); err != nil {
			return err
		}
	}
	return nil
}

// MarshalFlat encodes several structs into one JSON object. A key written by
// two parts is an error.
func MarshalFlat(parts ...any) ([]byte, error) {
	merged := map[string]json.RawMessage{}
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if _, dup := merged[k]; dup {
				return nil, fmt.Errorf("config key %q written twice", k)
			}
			merged[k] = v
		}
	}
	return json.Marshal(merged)
}
