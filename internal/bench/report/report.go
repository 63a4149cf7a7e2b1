// Package report prints the results of a diego-bench scenario: a readable
// table for people, then one last line `RESULT {json}` for tools.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Latencies collects request durations and reports percentiles.
type Latencies struct {
	d []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) { l.d = append(l.d, d) }

// Merge adds every duration of o.
func (l *Latencies) Merge(o *Latencies) { l.d = append(l.d, o.d...) }

// Count is the number of durations recorded.
func (l *Latencies) Count() int { return len(l.d) }

// Percentile returns the p-th percentile (0..100), nearest rank.
func (l *Latencies) Percentile(p float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	rank := int(p/100*float64(len(l.d))+0.5) - 1
	rank = max(0, min(rank, len(l.d)-1))
	return l.d[rank]
}

// Max returns the longest duration.
func (l *Latencies) Max() time.Duration { return l.Percentile(100) }

// Ms converts a duration to milliseconds with microsecond precision.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Table is a titled table of rows.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// Row appends a row, formatting each cell with %v.
func (t *Table) Row(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case float64:
			row[i] = fmt.Sprintf("%.2f", v)
		case time.Duration:
			row[i] = fmt.Sprintf("%.2f ms", Ms(v))
		default:
			row[i] = fmt.Sprint(v)
		}
	}
	t.Rows = append(t.Rows, row)
}

// Print writes the table.
func (t *Table) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n%s\n", t.Title, strings.Repeat("=", len(t.Title)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// Result prints the machine-readable last line.
func Result(w io.Writer, scenario string, figures map[string]any) error {
	out := map[string]any{"scenario": scenario}
	for k, v := range figures {
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "RESULT %s\n", b)
	return err
}
