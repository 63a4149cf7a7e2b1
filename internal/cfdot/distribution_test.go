package cfdot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
)

// sampleLoads is a small cluster with every kind of row: cells from reps
// and estimated, an evacuating cell, tasks, a full and an empty cell, a
// cell without a zone and a long id.
func sampleLoads() []cellLoad {
	return []cellLoad{
		{ID: "cell-z1-0", Zone: "z1", Memory: usage{12000, 16000}, Disk: usage{20000, 64000}, Containers: usage{40, 250}, Instances: 38, Tasks: 2, Source: sourceRep},
		{ID: "cell-z1-1", Zone: "z1", Memory: usage{4000, 16000}, Disk: usage{8000, 64000}, Containers: usage{10, 250}, Instances: 10, Source: sourceRep},
		{ID: "cell-z1-2", Zone: "z1", Memory: usage{15500, 16000}, Disk: usage{60000, 64000}, Containers: usage{249, 250}, Instances: 240, Tasks: 9, Source: sourceRep},
		{ID: "cell-z2-0", Zone: "z2", Memory: usage{0, 16000}, Disk: usage{0, 64000}, Containers: usage{0, 250}, Source: sourceRep, Evacuating: true},
		{ID: "cell-z2-1", Zone: "z2", Memory: usage{9000, 16000}, Disk: usage{30000, 64000}, Containers: usage{30, 250}, Instances: 30, Source: sourceBBS},
		{ID: "a-cell-with-a-very-long-identifier-indeed", Zone: "", Memory: usage{1024, 4096}, Disk: usage{1024, 8192}, Containers: usage{1, 10}, Instances: 1, Source: sourceBBS},
	}
}

// manyLoads is a cluster of n cells in three zones, loaded unevenly but
// deterministically.
func manyLoads(n int) []cellLoad {
	loads := make([]cellLoad, n)
	for i := range loads {
		zone := fmt.Sprintf("z%d", i%3+1)
		f := float64((i*37)%100) / 100
		if zone == "z3" {
			f = f / 3 // a zone that gets less work
		}
		inst := int(f * 120)
		loads[i] = cellLoad{
			ID: fmt.Sprintf("cell-%s-%04d", zone, i/3), Zone: zone,
			Memory:     usage{int64(f * 32768), 32768},
			Disk:       usage{int64(f * f * 131072), 131072},
			Containers: usage{int64(inst + 2), 250},
			Instances:  inst, Tasks: i % 2, Source: sourceRep,
		}
		if i%97 == 0 {
			loads[i].Source = sourceBBS
		}
	}
	return loads
}

// TestDistributionRendering compares the plain drawing (no terminal) with
// its golden files.
func TestDistributionRendering(t *testing.T) {
	for _, tc := range []struct {
		golden string
		loads  []cellLoad
		opts   renderOptions
	}{
		{"distribution_rows.golden", sampleLoads(), renderOptions{Width: 100}},
		{"distribution_rows_narrow.golden", sampleLoads(), renderOptions{Width: 60}},
		{"distribution_compact.golden", sampleLoads(), renderOptions{Width: 100, Compact: true}},
		{"distribution_1000_cells.golden", manyLoads(1000), renderOptions{Width: 100, Compact: true}},
		{"distribution_empty.golden", nil, renderOptions{Width: 100}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := renderDistribution(&b, tc.loads, tc.opts); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if strings.Contains(got, "\x1b[") {
				t.Errorf("colours in a plain drawing")
			}
			path := filepath.Join("testdata", tc.golden)
			if os.Getenv(envUpdateGolden) == "1" {
				writeSpec(t, path, got)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with %s=1)", err, envUpdateGolden)
			}
			if got != string(want) {
				t.Errorf("drawing differs from %s; got:\n%s", path, got)
			}
		})
	}
}

// TestDistributionFitsManyCells checks that 1,000 cells fit a screen or
// two, each line within the width.
func TestDistributionFitsManyCells(t *testing.T) {
	for width, maxLines := range map[int]int{80: 100, 100: 70, 200: 45} {
		var b bytes.Buffer
		if err := renderDistribution(&b, manyLoads(1000), renderOptions{Width: width, Compact: true}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if len(lines) > maxLines {
			t.Errorf("width %d: %d lines for 1,000 cells", width, len(lines))
		}
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("width %d: line of %d columns: %q", width, n, l)
			}
		}
	}
}

// TestDistributionColour checks when colours are used.
func TestDistributionColour(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		env      map[string]string
		flag     string
		want     bool
	}{
		{"terminal", true, nil, "auto", true},
		{"pipe", false, nil, "auto", false},
		{"terminal with NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, "auto", false},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, "auto", false},
		{"pipe, always", false, nil, "always", true},
		{"terminal, never", true, nil, "never", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &Env{Getenv: func(k string) string { return tc.env[k] }, Terminal: func() (bool, int) { return tc.terminal, 120 }}
			o, err := renderOptionsFor(env, tc.flag, 0)
			if err != nil {
				t.Fatal(err)
			}
			if o.Color != tc.want {
				t.Errorf("colour %v, want %v", o.Color, tc.want)
			}
			var b bytes.Buffer
			if err := renderDistribution(&b, sampleLoads(), o); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), "\x1b["); got != tc.want {
				t.Errorf("escape sequences %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDistributionWidth checks where the width comes from.
func TestDistributionWidth(t *testing.T) {
	env := func(terminalWidth int, columns string) *Env {
		return &Env{Getenv: func(k string) string { return map[string]string{"COLUMNS": columns}[k] },
			Terminal: func() (bool, int) { return terminalWidth > 0, terminalWidth }}
	}
	for _, tc := range []struct {
		env  *Env
		flag int
		want int
	}{
		{env(0, ""), 0, 100},
		{env(0, "132"), 0, 132},
		{env(90, "132"), 0, 90},
		{env(90, "132"), 70, 70},
	} {
		o, err := renderOptionsFor(tc.env, "auto", tc.flag)
		if err != nil {
			t.Fatal(err)
		}
		if o.Width != tc.want {
			t.Errorf("width %d, want %d", o.Width, tc.want)
		}
	}
}

// TestDistributionCommand draws the seeded cluster: cell-1 and cell-2 from
// their reps, cell-3 (unreachable) and cell-4 (503) estimated from the BBS.
func TestDistributionCommand(t *testing.T) {
	c := startCluster(t)
	c.seed(t)
	o := runOurs(t, c.bbsEnv, "distribution", "--width", "100")
	if o.Code != 0 {
		t.Fatalf("exit %d: %s", o.Code, o.Stderr)
	}
	for _, want := range []string{
		"4 cells in 2 zones",
		"~ estimated from the BBS: 2 cells whose rep did not answer",
		"zone z1 · 2 cells",
		"zone z2 · 2 cells",
		"cell-3 ~",
		"cell-4 ~",
		"cell-1   ", // from its rep: no mark
	} {
		if !strings.Contains(o.Stdout, want) {
			t.Errorf("no %q in\n%s", want, o.Stdout)
		}
	}
	if strings.Contains(o.Stdout, "\x1b[") {
		t.Errorf("colours without a terminal")
	}
	o = runOurs(t, c.bbsEnv, "distribution", "--source", "bbs", "--compact")
	if o.Code != 0 || !strings.Contains(o.Stdout, "~ use estimated from the BBS") || !strings.Contains(o.Stdout, "busiest ") {
		t.Errorf("exit %d:\n%s%s", o.Code, o.Stdout, o.Stderr)
	}
}

// TestEstimateFromBBS checks the numbers drawn for cells whose rep does
// not answer, against the seeded data: on cell-1 the claimed lrp-full/0
// and the running task, on cell-2 the evacuating lrp-full/1.
func TestEstimateFromBBS(t *testing.T) {
	c := startCluster(t)
	c.seed(t)
	ctx := bbsclient.WithRequestID(context.Background(), "test")
	cells, err := c.api.Client.Cells(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loads := make([]cellLoad, len(cells))
	indexes := make([]int, len(cells))
	for i := range indexes {
		indexes[i] = i
	}
	if err := estimateFromBBS(ctx, c.api.Client, cells, indexes, loads); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cell-1": "z1/cell-1 mem 276/16000 disk 1034/64000 ctr 2/249 inst 1 tasks 1 (bbs)",
		"cell-2": "z2/cell-2 mem 256/8000 disk 1024/32000 ctr 1/100 inst 1 tasks 0 (bbs)",
		"cell-3": "z1/cell-3 mem 0/16000 disk 0/64000 ctr 0/249 inst 0 tasks 0 (bbs)",
		"cell-4": "z2/cell-4 mem 0/16000 disk 0/64000 ctr 0/249 inst 0 tasks 0 (bbs)",
	}
	for _, l := range loads {
		if l.String() != want[l.ID] {
			t.Errorf("got  %s\nwant %s", l, want[l.ID])
		}
	}
}

// TestDistributionCommandManyCells draws 1,004 cells, most of them asking
// the same rep stand-in, one in ten unreachable (with cell-3 and cell-4:
// 102 estimated).
func TestDistributionCommandManyCells(t *testing.T) {
	c := startCluster(t)
	for i := range 1000 {
		rep := c.reps[0]
		if i%10 == 0 {
			rep = c.reps[2]
		}
		c.api.Cells.Set(&models.CellPresence{CellId: fmt.Sprintf("many-%04d", i), Zone: fmt.Sprintf("z%d", i%3),
			RepAddress: "http://127.0.0.1:1800", RepUrl: "https://" + rep,
			Capacity: &models.CellCapacity{MemoryMb: 16000, DiskMb: 64000, Containers: 249}})
	}
	start := time.Now()
	o := runOurs(t, c.bbsEnv, "distribution", "--width", "120")
	if o.Code != 0 {
		t.Fatalf("exit %d: %s", o.Code, o.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(o.Stdout), "\n")
	if !strings.HasPrefix(lines[0], "1004 cells in 3 zones") || !strings.Contains(o.Stdout, "~ estimated from the BBS: 102 cells") ||
		!strings.Contains(o.Stdout, "busiest  ") || len(lines) > 70 {
		t.Errorf("%d lines:\n%s", len(lines), o.Stdout)
	}
	t.Logf("1,004 cells drawn in %s", time.Since(start))
}
