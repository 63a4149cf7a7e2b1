package auctionnet

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	opts := Options{Cells: 12, Instances: 120, Zones: 3, Rounds: 1, Workers: 8}
	if err := Run(context.Background(), opts, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"RESULT {", `"placed":120`, `"failed":0`, `"per_cell_spread":0`, `"fetch_cold_cells_answered":12`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
}
