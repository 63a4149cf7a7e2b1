package cfdot

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// renderOptions shape the distribution drawing.
type renderOptions struct {
	Width   int  // columns
	Color   bool // ANSI colours
	Compact bool // one character per cell
}

// Glyphs of the drawing.
const (
	barFull  = "█"
	barEmpty = "░"
	idle     = "·" // a cell using nothing, in the compact view
)

// levels draw a share in the compact view, lowest first.
const levels = "▁▂▃▄▅▆▇█"

// zoneLoads is the cells of one zone, sorted by id.
type zoneLoads struct {
	name  string
	cells []cellLoad
}

// renderDistribution draws loads: a summary, each zone with its cells,
// and the balance of the cluster.
func renderDistribution(w io.Writer, loads []cellLoad, o renderOptions) error {
	p := &painter{o: o}
	zones := byZone(loads)
	p.summary(loads, zones)
	idW, bw := rowLayout(loads, o.Width)
	for _, z := range zones {
		if o.Compact {
			p.compactZone(z, maxInstances(loads))
		} else {
			p.zoneRows(z, idW, bw)
		}
	}
	p.balance(loads)
	if _, err := io.WriteString(w, p.b.String()); err != nil {
		return commandErr(err)
	}
	return nil
}

func byZone(loads []cellLoad) []zoneLoads {
	m := map[string][]cellLoad{}
	for _, l := range loads {
		m[l.Zone] = append(m[l.Zone], l)
	}
	zones := make([]zoneLoads, 0, len(m))
	for name, cells := range m {
		slices.SortFunc(cells, func(a, b cellLoad) int { return cmp.Compare(a.ID, b.ID) })
		zones = append(zones, zoneLoads{name: name, cells: cells})
	}
	slices.SortFunc(zones, func(a, b zoneLoads) int { return cmp.Compare(a.name, b.name) })
	return zones
}

// painter accumulates the drawing.
type painter struct {
	o renderOptions
	b strings.Builder
}

// ANSI styles.
const (
	styleBold  = "1"
	styleDim   = "2"
	styleGreen = "32"
	styleAmber = "33"
	styleRed   = "31"
)

// paint wraps s in an ANSI style when colours are on.
func (p *painter) paint(style, s string) string {
	if !p.o.Color || s == "" {
		return s
	}
	return "\x1b[" + style + "m" + s + "\x1b[0m"
}

// levelStyle colours a share: green below 70 %, amber below 90 %, red above.
func levelStyle(f float64) string {
	switch {
	case f >= 0.9:
		return styleRed
	case f >= 0.7:
		return styleAmber
	}
	return styleGreen
}

func (p *painter) line(format string, a ...any) {
	fmt.Fprintf(&p.b, format, a...)
	p.b.WriteByte('\n')
}

func (p *painter) summary(loads []cellLoad, zones []zoneLoads) {
	var instances, tasks, estimated, evacuating int
	for _, l := range loads {
		instances += l.Instances
		tasks += l.Tasks
		if l.Source == sourceBBS {
			estimated++
		}
		if l.Evacuating {
			evacuating++
		}
	}
	p.wrap(0, plural(len(loads), "cell")+" in "+plural(len(zones), "zone"), plural(instances, "LRP instance"), plural(tasks, "task"))
	var notes []string
	switch {
	case len(loads) == 0:
		notes = append(notes, "no cell is registered")
	case estimated == 0:
		notes = append(notes, "use as the reps report it")
	case estimated == len(loads):
		notes = append(notes, "~ use estimated from the BBS (presence capacity, actual LRPs and running tasks)")
	default:
		notes = append(notes, "use as the reps report it", fmt.Sprintf("~ estimated from the BBS: %s whose rep did not answer", plural(estimated, "cell")))
	}
	if evacuating > 0 {
		notes = append(notes, "E evacuating")
	}
	p.wrap(2, notes...)
}

// wrap writes parts joined by " · ", going to a new line (indented by
// indent) rather than past the width.
func (p *painter) wrap(indent int, parts ...string) {
	var line strings.Builder
	width := 0
	for i, part := range parts {
		w := visibleLen(part)
		if i > 0 {
			if width+3+w > p.o.Width {
				p.line("%s", line.String())
				line.Reset()
				line.WriteString(strings.Repeat(" ", indent))
				width = indent
			} else {
				line.WriteString(" · ")
				width += 3
			}
		}
		line.WriteString(part)
		width += w
	}
	p.line("%s", line.String())
}

// visibleLen is the number of columns s takes, colours aside.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				i += j + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// zoneHeader is a zone's lines: its cells and instances, then its overall
// use.
func (p *painter) zoneHeader(z zoneLoads) {
	var mem, disk, ctr usage
	var instances int
	for _, l := range z.cells {
		mem.add(l.Memory)
		disk.add(l.Disk)
		ctr.add(l.Containers)
		instances += l.Instances
	}
	name := z.name
	if name == "" {
		name = "(no zone)"
	}
	p.b.WriteByte('\n')
	p.wrap(2, p.paint(styleBold, "zone "+name), plural(len(z.cells), "cell"), plural(instances, "instance"))
	p.wrap(10, "  in use: memory "+p.share(mem.fraction())+" of "+megabytes(mem.Total),
		"disk "+p.share(disk.fraction())+" of "+megabytes(disk.Total),
		fmt.Sprintf("containers %s of %d", p.share(ctr.fraction()), ctr.Total))
}

func (u *usage) add(v usage) {
	u.Used += v.Used
	u.Total += v.Total
}

// rowLayout sizes the columns of the rows, the same in every zone: "  "
// id " " mark " ", three "bar pct" columns 2 apart, the instances, and the
// tasks if any cell runs some. Bars shrink to fit the width, ids do not.
func rowLayout(loads []cellLoad, width int) (idW, bw int) {
	idW = idWidth(loads)
	tasksW := 0
	for _, l := range loads {
		if l.Tasks > 0 {
			tasksW = 10
		}
	}
	fixed := 2 + idW + 3 + 3*5 + 4 + 7 + tasksW
	return idW, min(40, max(5, (width-fixed)/3))
}

// zoneRows draws a zone with one row of three bars per cell.
func (p *painter) zoneRows(z zoneLoads, idW, bw int) {
	p.zoneHeader(z)
	p.line("  %-*s   %-*s  %-*s  %-*s  %5s", idW, "", bw+5, "memory", bw+5, "disk", bw+5, "containers", "inst")
	for _, l := range z.cells {
		mark := " "
		switch {
		case l.Evacuating:
			mark = p.paint(styleAmber, "E")
		case l.Source == sourceBBS:
			mark = p.paint(styleDim, "~")
		}
		row := fmt.Sprintf("  %-*s %s %s  %s  %s  %5d", idW, clip(l.ID, idW), mark,
			p.bar(l.Memory.fraction(), bw), p.bar(l.Disk.fraction(), bw), p.bar(l.Containers.fraction(), bw), l.Instances)
		if l.Tasks > 0 {
			row += " +" + plural(l.Tasks, "task")
		}
		p.line("%s", row)
	}
}

// bar draws a share as a bar of width w and a percentage.
func (p *painter) bar(f float64, w int) string {
	full := int(f*float64(w) + 0.5)
	return p.paint(levelStyle(f), strings.Repeat(barFull, full)) + strings.Repeat(barEmpty, w-full) + " " + p.percent(f)
}

// percent is a share for a column: three digits wide.
func (p *painter) percent(f float64) string {
	return p.paint(levelStyle(f), fmt.Sprintf("%3.0f%%", f*100))
}

// share is a share within a sentence.
func (p *painter) share(f float64) string {
	return p.paint(levelStyle(f), fmt.Sprintf("%.0f%%", f*100))
}

// compactZone draws a zone as heat strips: one character per cell and
// per resource, cells in the order of their ids.
func (p *painter) compactZone(z zoneLoads, busiest int) {
	p.zoneHeader(z)
	const labelW = 12
	strip := max(10, p.o.Width-2-labelW)
	rows := []struct {
		label string
		share func(cellLoad) float64
	}{
		{"memory", func(l cellLoad) float64 { return l.Memory.fraction() }},
		{"disk", func(l cellLoad) float64 { return l.Disk.fraction() }},
		{"containers", func(l cellLoad) float64 { return l.Containers.fraction() }},
		{"instances", func(l cellLoad) float64 {
			if busiest == 0 {
				return 0
			}
			return float64(l.Instances) / float64(busiest)
		}},
	}
	for _, r := range rows {
		for start := 0; start < len(z.cells); start += strip {
			label := ""
			if start == 0 {
				label = r.label
			}
			var b strings.Builder
			for _, l := range z.cells[start:min(start+strip, len(z.cells))] {
				b.WriteString(p.glyph(r.share(l), r.label == "instances"))
			}
			p.line("  %-*s%s", labelW, label, b.String())
		}
	}
}

// glyph draws one cell's share in a strip; instance strips are relative to
// the busiest cell, so they are not coloured as use.
func (p *painter) glyph(f float64, relative bool) string {
	if f <= 0 {
		return idle
	}
	glyphs := []rune(levels)
	g := string(glyphs[min(len(glyphs)-1, int(f*float64(len(glyphs))))])
	if relative {
		return g
	}
	return p.paint(levelStyle(f), g)
}

// balance sums up the spread of use across the cells, and in the compact
// view names the busiest cells and those estimated from the BBS.
func (p *painter) balance(loads []cellLoad) {
	if len(loads) == 0 {
		return
	}
	p.b.WriteByte('\n')
	spread := func(name string, share func(cellLoad) float64) string {
		lo, hi, sum := 1.0, 0.0, 0.0
		for _, l := range loads {
			f := share(l)
			lo, hi, sum = min(lo, f), max(hi, f), sum+f
		}
		return fmt.Sprintf("%s %.0f–%.0f%% (mean %.0f%%)", name, lo*100, hi*100, sum/float64(len(loads))*100)
	}
	lo, hi, sum := loads[0].Instances, 0, 0
	for _, l := range loads {
		lo, hi, sum = min(lo, l.Instances), max(hi, l.Instances), sum+l.Instances
	}
	p.wrap(9, "balance  "+spread("memory", func(l cellLoad) float64 { return l.Memory.fraction() }),
		spread("disk", func(l cellLoad) float64 { return l.Disk.fraction() }),
		spread("containers", func(l cellLoad) float64 { return l.Containers.fraction() }),
		fmt.Sprintf("instances %d–%d per cell (mean %.1f)", lo, hi, float64(sum)/float64(len(loads))))
	if !p.o.Compact {
		return
	}
	busiest := busiestCells(loads, 5)
	busiest[0] = "busiest  " + busiest[0]
	p.wrap(9, busiest...)
	var estimated []string
	for _, l := range loads {
		if l.Source == sourceBBS {
			estimated = append(estimated, l.ID)
		}
	}
	if len(estimated) > 0 && len(estimated) < len(loads) {
		slices.Sort(estimated)
		p.line("~ BBS    %s", clip(strings.Join(estimated, " "), max(20, p.o.Width-9)))
	}
}

// busiestCells names the n cells with the highest share of any resource.
func busiestCells(loads []cellLoad, n int) []string {
	type ranked struct {
		id, what string
		f        float64
	}
	all := make([]ranked, 0, len(loads))
	for _, l := range loads {
		r := ranked{id: l.ID, what: "memory", f: l.Memory.fraction()}
		if f := l.Disk.fraction(); f > r.f {
			r.what, r.f = "disk", f
		}
		if f := l.Containers.fraction(); f > r.f {
			r.what, r.f = "containers", f
		}
		all = append(all, r)
	}
	slices.SortStableFunc(all, func(a, b ranked) int {
		if c := cmp.Compare(b.f, a.f); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	var out []string
	for _, r := range all[:min(n, len(all))] {
		out = append(out, fmt.Sprintf("%s %s %.0f%%", r.id, r.what, r.f*100))
	}
	return out
}

func maxInstances(loads []cellLoad) int {
	m := 0
	for _, l := range loads {
		m = max(m, l.Instances)
	}
	return m
}

// idWidth is the width of the cell id column: the longest id, within
// reason.
func idWidth(loads []cellLoad) int {
	w := 4
	for _, l := range loads {
		w = max(w, len([]rune(l.ID)))
	}
	return min(w, 28)
}

// clip shortens s to n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// megabytes prints a size given in MB.
func megabytes(mb int64) string {
	switch {
	case mb >= 1<<20:
		return fmt.Sprintf("%.1f TiB", float64(mb)/(1<<20))
	case mb >= 1<<10:
		return fmt.Sprintf("%.1f GiB", float64(mb)/(1<<10))
	}
	return fmt.Sprintf("%d MiB", mb)
}
