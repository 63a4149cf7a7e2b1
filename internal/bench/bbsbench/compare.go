package bbsbench

import (
	"fmt"
	"io"
	"math"

	"github.com/diego-go/diego/internal/bench/report"
)

// Better says which way a figure improves, for the ratio column.
type Better int

const (
	Neutral Better = iota // counts and sizes: no ratio
	Lower                 // durations, memory: ratio = reference / ours
	Higher                // throughput: ratio = ours / reference
)

// Figure is one measured value of one run.
type Figure struct {
	Key    string // RESULT key, e.g. "all_actual_lrps_s"
	Label  string
	Unit   string
	Value  float64
	Better Better
	// Target, if set, is the goal ("<= 1 s") and Met whether Value meets it.
	Target string
	Met    bool
	// Missing: the run could not measure it (e.g. the phase failed).
	Missing bool
}

// Run is the figures of one target.
type Run struct {
	Target  Target
	Figures []Figure
	Notes   []string
	Err     error
}

func (r *Run) add(f Figure) { r.Figures = append(r.Figures, f) }

// fig records a figure without a target.
func (r *Run) fig(key, label, unit string, v float64, b Better) {
	r.add(Figure{Key: key, Label: label, Unit: unit, Value: v, Better: b})
}

// atMost records a figure whose goal is v <= goal.
func (r *Run) atMost(key, label, unit string, v float64, b Better, goal float64) {
	r.add(Figure{Key: key, Label: label, Unit: unit, Value: v, Better: b, Target: "<= " + num(goal) + " " + unit, Met: v <= goal})
}

// below records a figure whose goal is v < goal.
func (r *Run) below(key, label, unit string, v float64, b Better, goal float64) {
	r.add(Figure{Key: key, Label: label, Unit: unit, Value: v, Better: b, Target: "< " + num(goal) + " " + unit, Met: v < goal})
}

// missing records a figure the run could not measure.
func (r *Run) missing(key, label, unit string, b Better, target string) {
	r.add(Figure{Key: key, Label: label, Unit: unit, Better: b, Target: target, Missing: true})
}

func (r *Run) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Run) get(key string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Key == key {
			return f, true
		}
	}
	return Figure{}, false
}

func num(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func (f Figure) text() string {
	if f.Missing {
		return "n/a"
	}
	return num(f.Value) + " " + f.Unit
}

// ratio is how many times better ours is than the reference ("" when the
// figure has no direction or a side is missing or zero).
func ratio(ours, ref Figure) (float64, bool) {
	if ours.Missing || ref.Missing {
		return 0, false
	}
	switch ours.Better {
	case Lower:
		if ours.Value > 0 {
			return ref.Value / ours.Value, true
		}
	case Higher:
		if ref.Value > 0 {
			return ours.Value / ref.Value, true
		}
	}
	return 0, false
}

// printRuns prints the figures of every run side by side (ours, then the
// reference with the ratio), then the notes.
func printRuns(w io.Writer, title string, runs []Run) {
	t := report.Table{Title: title, Header: []string{"figure"}}
	for _, r := range runs {
		t.Header = append(t.Header, r.Target.Name)
	}
	if len(runs) > 1 {
		t.Header = append(t.Header, "ref/ours")
	}
	t.Header = append(t.Header, "target", "ours meets")
	for _, f := range runs[0].Figures {
		row := []any{f.Label}
		for _, r := range runs {
			g, ok := r.get(f.Key)
			if !ok {
				g = Figure{Missing: true}
			}
			row = append(row, g.text())
		}
		if len(runs) > 1 {
			g, _ := runs[1].get(f.Key)
			if x, ok := ratio(f, g); ok {
				row = append(row, fmt.Sprintf("%.1fx", x))
			} else {
				row = append(row, "")
			}
		}
		met := ""
		if f.Target != "" {
			met = map[bool]string{true: "yes", false: "NO"}[f.Met && !f.Missing]
		}
		row = append(row, f.Target, met)
		t.Row(row...)
	}
	t.Print(w)
	for _, r := range runs {
		fmt.Fprintf(w, "\n%s: %s\n", r.Target.Name, r.Target.Bin)
		if r.Err != nil {
			fmt.Fprintf(w, "  FAILED: %v\n", r.Err)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

// resultFigures is the RESULT part of a set of runs: each target's
// figures by key, the ratios, and the targets met by ours.
func resultFigures(runs []Run) map[string]any {
	out := map[string]any{}
	for _, r := range runs {
		m := map[string]any{"bin": r.Target.Bin}
		for _, f := range r.Figures {
			if f.Missing {
				m[f.Key] = nil
			} else {
				m[f.Key] = f.Value
			}
		}
		if r.Err != nil {
			m["error"] = r.Err.Error()
		}
		out[r.Target.Name] = m
	}
	if len(runs) > 1 {
		ratios := map[string]any{}
		for _, f := range runs[0].Figures {
			if g, ok := runs[1].get(f.Key); ok {
				if x, ok := ratio(f, g); ok {
					ratios[f.Key] = math.Round(x*100) / 100
				}
			}
		}
		out["ratio_ref_over_ours"] = ratios
	}
	var missed []string
	for _, f := range runs[0].Figures {
		if f.Target != "" && (!f.Met || f.Missing) {
			missed = append(missed, f.Key)
		}
	}
	out["targets_missed"] = missed
	out["targets"] = map[bool]string{true: "met", false: "missed"}[len(missed) == 0]
	return out
}

// shapeName is "200000x1".
func shapeName(f Fleet) string { return fmt.Sprintf("%dx%d", f.LRPs, f.Instances) }
