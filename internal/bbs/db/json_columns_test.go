package db

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

var metricTagInputs = []string{
	`{}`, ` { } `, `null`, `[]`, `{"a":null}`, `{"a":{}}`,
	`{"source_id":{"static":"app-1"},"instance_id":{"dynamic":"INDEX"},"guid":{"dynamic":"INSTANCE_GUID"}}`,
	`{"a":{"static":"x","dynamic":1}}`, `{"a":{"dynamic":1,"static":"x"}}`,
	`{"a":{"static":"x"},"a":{"static":"y"}}`, // duplicate names: last wins
	`{"a":{"static":"x","static":"y"}}`, `{"a":{"Static":"x"}}`, `{"a":{"STATIC":"x"}}`,
	`{"a":{"static":"caf\u00e9"}}`, `{"a":{"static":"tab\there"}}`, `{"a":{"static":"café"}}`,
	"{\"a\":{\"static\":\"\xff\"}}", `{"a":{"static":null}}`, `{"a":{"static":1}}`,
	`{"a":{"dynamic":"1"}}`, `{"a":{"dynamic":1.0}}`, `{"a":{"dynamic":1e0}}`, `{"a":{"dynamic":-1}}`,
	`{"a":{"dynamic":01}}`, `{"a":{"dynamic":99999999999}}`, `{"a":{"dynamic":2147483647}}`,
	`{"a":{"other":1}}`, `{"a":{"static":"x"}`, `{"a":{"static":"x"}}}`, `{"a":{"static":"x"},}`,
	`{"a" : { "static" : "x" } , "b":{"dynamic":"INDEX"}}`, `{"a":{"dynamic":"INSTANCE_GUID","static":""}}`,
	`{"a":{"dynamic":"DynamicValueInvalid"}}`, `{"a":{"dynamic":"index"}}`, `{"a":{"dynamic":"NOPE"}}`, "\n{\"a\":{\"static\":\"x\"}}\n", `{"":{"static":""}}`,
	`{"a":{"static":"x"}} x`, `{a:{}}`, `{"a":{"static":"x"`, ``,
}

// TestParseMetricTagsMatchesEncodingJSON: the fast path gives what
// encoding/json gives, value and error alike.
func TestParseMetricTagsMatchesEncodingJSON(t *testing.T) {
	for _, in := range metricTagInputs {
		checkMetricTags(t, in)
	}
}

func FuzzParseMetricTags(f *testing.F) {
	for _, in := range metricTagInputs {
		f.Add(in)
	}
	f.Fuzz(checkMetricTags)
}

func checkMetricTags(t *testing.T, in string) {
	var want map[string]*models.MetricTagValue
	wantErr := json.Unmarshal([]byte(in), &want)
	got, err := parseMetricTags([]byte(in))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json %v", in, err, wantErr)
	}
	if err != nil {
		return
	}
	if (got == nil) != (want == nil) || len(got) != len(want) {
		t.Fatalf("%q: %v, encoding/json %v", in, got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || (g == nil) != (w == nil) || (w != nil && !proto.Equal(g, w)) {
			t.Fatalf("%q: %q is %v, encoding/json %v", in, k, g, w)
		}
	}
}

func BenchmarkParseMetricTags(b *testing.B) {
	tags := map[string]*models.MetricTagValue{}
	for i := range 11 {
		tags[fmt.Sprintf("tag_name_%d", i)] = &models.MetricTagValue{Static: fmt.Sprintf("2b5c4a7e-9f0d-4c1a-8e3b-%012d", i)}
	}
	in, _ := json.Marshal(tags)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = parseMetricTags(in)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var m map[string]*models.MetricTagValue
			_ = json.Unmarshal(in, &m)
		}
	})
}

var stringMapInputs = []string{
	`{}`, ` { } `, `null`, `[]`, `{"a":null}`, `{"a":""}`, `{"a":"x","b":"y"}`, `{"a":"x","a":"y"}`,
	`{"a":1}`, `{"a":"caf\u00e9"}`, `{"a":"café"}`, "{\"a\":\"\xff\"}", `{"a":"x",}`, `{"a":"x"}}`,
	`{"a":"x"} x`, `{a:"x"}`, `{"a":"x"`, ``, `{"a" : "x" , "b" : "y"}`, `{"a":{"static":"x"}}`,
}

func TestParseStringMapMatchesEncodingJSON(t *testing.T) {
	for _, in := range stringMapInputs {
		checkStringMap(t, in)
	}
}

func FuzzParseStringMap(f *testing.F) {
	for _, in := range stringMapInputs {
		f.Add(in)
	}
	f.Fuzz(checkStringMap)
}

func checkStringMap(t *testing.T, in string) {
	var want map[string]string
	wantErr := json.Unmarshal([]byte(in), &want)
	got, err := parseStringMap([]byte(in))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json %v", in, err, wantErr)
	}
	if err == nil && ((got == nil) != (want == nil) || !maps.Equal(got, want)) {
		t.Fatalf("%q: %v, encoding/json %v", in, got, want)
	}
}

func BenchmarkParseStringMap(b *testing.B) {
	tags := map[string]string{}
	for i := range 11 {
		tags[fmt.Sprintf("tag_name_%d", i)] = fmt.Sprintf("2b5c4a7e-9f0d-4c1a-8e3b-%012d", i)
	}
	in, _ := json.Marshal(tags)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = parseStringMap(in)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var m map[string]string
			_ = json.Unmarshal(in, &m)
		}
	})
}

var rawMapInputs = []string{
	`{}`, `null`, `[]`, `{"cf-router":[{"hostnames":["a.example.com"],"port":8080,"route_service_url":null}]}`,
	`{"a":null,"b":true,"c":false,"d":-1.5e3,"e":"s\"q","f":{"x":[1,{"y":"}"}]},"g":[]}`,
	`{"a" : [ 1 , 2 ] , "b" : { } }`, `{"a":1,"a":2}`, `{"a\u00e9":1}`, `{"a":"\ud800"}`, `{"a":1,}`, `{"a":}`,
	`{"a":[1,2}`, `{"a":1} x`, "{\"a\":\"\xff\"}", `{"a":"x\\"}`, `{"a":"x\\\"y"}`, ` {"a":1} `,
}

func TestParseRawMapMatchesEncodingJSON(t *testing.T) {
	for _, in := range rawMapInputs {
		checkRawMap(t, in)
	}
}

func FuzzParseRawMap(f *testing.F) {
	for _, in := range rawMapInputs {
		f.Add(in)
	}
	f.Fuzz(checkRawMap)
}

func checkRawMap(t *testing.T, in string) {
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal([]byte(in), &want)
	got, err := parseRawMap([]byte(in))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json %v", in, err, wantErr)
	}
	if err == nil && ((got == nil) != (want == nil) || !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) })) {
		t.Fatalf("%q: %q, encoding/json %q", in, got, want)
	}
}
