package converger

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the figures of the passes under the reference's names
// (reference §8.2), durations in seconds. A nil *Metrics records nothing.
type Metrics struct {
	lrpRuns, taskRuns, tasksKicked, tasksPruned prometheus.Counter
	lrpDuration, taskDuration                   prometheus.Gauge
	lrpGauges                                   map[string]prometheus.Gauge
	taskGauges                                  map[string]prometheus.Gauge
	domains                                     *prometheus.GaugeVec
	reactions                                   prometheus.Counter
	reactionDuration                            prometheus.Gauge
}

// NewMetrics returns the metrics; register Collectors.
func NewMetrics() *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &Metrics{
		lrpRuns:          counter("ConvergenceLRPRuns", "LRP convergence passes run."),
		lrpDuration:      gauge("ConvergenceLRPDuration", "Seconds the last LRP convergence pass took."),
		taskRuns:         counter("ConvergenceTaskRuns", "Task convergence passes run."),
		taskDuration:     gauge("ConvergenceTaskDuration", "Seconds the last task convergence pass took."),
		tasksKicked:      counter("ConvergenceTasksKicked", "Tasks expired, auctioned, failed or resubmitted by convergence."),
		tasksPruned:      counter("ConvergenceTasksPruned", "Tasks deleted by convergence (expired or unreadable)."),
		domains:          prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "Domain", Help: "1 for every fresh domain at the last LRP pass."}, []string{"domain"}),
		reactions:        counter("bbs_convergence_missing_cell_reactions_total", "Reactions to cells that vanished between passes."),
		reactionDuration: gauge("bbs_convergence_missing_cell_reaction_seconds", "Seconds the last reaction to vanished cells took."),
		lrpGauges:        map[string]prometheus.Gauge{},
		taskGauges:       map[string]prometheus.Gauge{},
	}
	for name, help := range map[string]string{
		"LRPsUnclaimed":            "ORDINARY actual LRPs UNCLAIMED after the last LRP pass.",
		"LRPsClaimed":              "ORDINARY actual LRPs CLAIMED after the last LRP pass.",
		"LRPsRunning":              "ORDINARY actual LRPs RUNNING after the last LRP pass.",
		"CrashedActualLRPs":        "ORDINARY actual LRPs CRASHED after the last LRP pass.",
		"CrashingDesiredLRPs":      "Desired LRPs with a CRASHED instance after the last LRP pass.",
		"LRPsDesired":              "Instances desired, summed over the desired LRPs.",
		"LRPsMissing":              "Instances the last LRP pass created.",
		"LRPsExtra":                "Instances the last LRP pass retired.",
		"SuspectRunningActualLRPs": "SUSPECT RUNNING actual LRPs the last LRP pass found.",
		"SuspectClaimedActualLRPs": "SUSPECT CLAIMED actual LRPs the last LRP pass found.",
		"PresentCells":             "Cells present at the last LRP pass.",
		"SuspectCells":             "Missing cells with instances at the last LRP pass.",
	} {
		m.lrpGauges[name] = gauge(name, help)
	}
	for name, help := range map[string]string{
		"TasksPending":   "Pending tasks after the last task pass.",
		"TasksRunning":   "Running tasks after the last task pass.",
		"TasksCompleted": "Completed tasks after the last task pass.",
		"TasksResolving": "Resolving tasks after the last task pass.",
	} {
		m.taskGauges[name] = gauge(name, help)
	}
	return m
}

// Collectors returns every metric, for a registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	cs := []prometheus.Collector{m.lrpRuns, m.lrpDuration, m.taskRuns, m.taskDuration, m.tasksKicked, m.tasksPruned,
		m.domains, m.reactions, m.reactionDuration}
	for _, g := range m.lrpGauges {
		cs = append(cs, g)
	}
	for _, g := range m.taskGauges {
		cs = append(cs, g)
	}
	return cs
}

func (m *Metrics) recordLRPPass(s LRPPassSummary) {
	if m == nil || s.Skipped {
		return
	}
	m.lrpRuns.Inc()
	m.lrpDuration.Set(s.Duration.Seconds())
	f := s.Metrics
	for name, v := range map[string]int{
		"LRPsUnclaimed": f.Unclaimed, "LRPsClaimed": f.Claimed, "LRPsRunning": f.Running, "CrashedActualLRPs": f.Crashed,
		"CrashingDesiredLRPs": f.CrashingDesired, "LRPsDesired": f.Desired, "LRPsMissing": f.Missing, "LRPsExtra": f.Extra,
		"SuspectRunningActualLRPs": f.SuspectRunning, "SuspectClaimedActualLRPs": f.SuspectClaimed,
		"PresentCells": f.PresentCells, "SuspectCells": f.SuspectCells,
	} {
		m.lrpGauges[name].Set(float64(v))
	}
	m.domains.Reset()
	for _, d := range s.FreshDomains {
		m.domains.WithLabelValues(d).Set(1)
	}
}

func (m *Metrics) recordTaskPass(s TaskPassSummary) {
	if m == nil || s.Skipped {
		return
	}
	m.taskRuns.Inc()
	m.taskDuration.Set(s.Duration.Seconds())
	m.tasksKicked.Add(float64(s.Kicked))
	m.tasksPruned.Add(float64(s.Pruned))
	f := s.Metrics
	for name, v := range map[string]int{
		"TasksPending": f.Pending, "TasksRunning": f.Running, "TasksCompleted": f.Completed, "TasksResolving": f.Resolving,
	} {
		m.taskGauges[name].Set(float64(v))
	}
}

func (m *Metrics) recordMissingCells(s MissingCellSummary) {
	if m == nil {
		return
	}
	m.reactions.Inc()
	m.reactionDuration.Set(s.Duration.Seconds())
}
