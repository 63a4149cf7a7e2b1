package durationjson

import (
	"encoding/json"
	"testing"
	"time"
)

func TestUnmarshal(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{`"10s"`, 10 * time.Second, false},
		{`"1h30m"`, 90 * time.Minute, false},
		{`"0"`, 0, false},
		{`"-1m"`, -time.Minute, false},
		{`1000000000`, time.Second, false},
		{`0`, 0, false},
		{`"10"`, 0, true},
		{`"ten seconds"`, 0, true},
		{`1.5`, 0, true},
		{`true`, 0, true},
		{`{}`, 0, true},
	}
	for _, c := range cases {
		var v struct {
			D Duration `json:"d"`
		}
		err := json.Unmarshal([]byte(`{"d":`+c.in+`}`), &v)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && v.D.D() != c.want {
			t.Errorf("%s: got %v, want %v", c.in, v.D, c.want)
		}
	}
}

func TestNullKeepsValue(t *testing.T) {
	d := Duration(time.Second)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d.D() != time.Second {
		t.Fatalf("got %v, %v", d, err)
	}
}

func TestRoundTrip(t *testing.T) {
	in := struct {
		D Duration `json:"d"`
	}{Duration(90 * time.Second)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"d":"1m30s"}` {
		t.Fatalf("got %s", b)
	}
	var out struct {
		D Duration `json:"d"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("got %v, %v", out, err)
	}
}
