package auctionbench

import (
	"bytes"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	for _, wl := range []string{"uniform", "same-size", "existing", "sim-mix"} {
		cells, req, existing, err := Build(wl, 30, 300, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 30 || len(req.LRPs) != 300 {
			t.Errorf("%s: %d cells, %d instances", wl, len(cells), len(req.LRPs))
		}
		if (wl == "existing") != (existing == 6000) {
			t.Errorf("%s: %d existing", wl, existing)
		}
	}
	if _, _, _, err := Build("nope", 1, 1, 1); err == nil {
		t.Error("unknown workload accepted")
	}
}

func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	opts := Options{Workloads: []string{"uniform", "sim-mix"}, Cells: []int{30}, Instances: []int{300}, Repeat: 1, Seed: 1}
	if err := Run(opts, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "RESULT {") || !strings.Contains(out.String(), "10-10") {
		t.Errorf("output:\n%s", out.String())
	}
}
