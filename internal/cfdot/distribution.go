package cfdot

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
)

// compactAbove is the number of cells above which distribution switches to
// its compact view by itself.
const compactAbove = 50

// Where a cell's numbers come from.
const (
	sourceRep = "rep" // the rep's GET /state
	sourceBBS = "bbs" // estimated from the BBS: presence capacity, actual LRPs and tasks on the cell
)

// cellLoad is how much of its capacity a cell uses.
type cellLoad struct {
	ID, Zone                 string
	Memory, Disk, Containers usage // MB, MB, containers
	Instances, Tasks         int
	Source                   string
	Evacuating               bool
}

type usage struct{ Used, Total int64 }

// fraction is Used/Total in [0, 1] (0 without a capacity).
func (u usage) fraction() float64 {
	if u.Total <= 0 {
		return 0
	}
	return min(1, max(0, float64(u.Used)/float64(u.Total)))
}

func newDistributionCommand(env *Env) *cobra.Command {
	var compact bool
	var width int
	var color, source string
	cmd := &cobra.Command{
		Use:   "distribution",
		Short: "Show how the cells are loaded, zone by zone",
		Long: "Draw, for every cell, the share of its memory, disk and containers in use, grouped by zone,\n" +
			"with its number of LRP instances, so that an unbalanced cluster shows at a glance.\n\n" +
			"The numbers come from each cell's rep (GET /state, 3 s at most). For a cell whose rep does\n" +
			"not answer, or for every cell with --source bbs, they are estimated from the BBS instead:\n" +
			"the presence's capacity against the resources of the actual LRPs (claimed or running) and\n" +
			"running tasks placed on the cell, marked ~. Above " + strconv.Itoa(compactAbove) + " cells, or with --compact,\n" +
			"each cell is one character of a heat strip per resource.\n" +
			"Colours only when stdout is a terminal (or --color always); NO_COLOR is honoured.",
	}
	c := bbsTimeoutFlags(env, cmd)
	f := cmd.Flags()
	f.BoolVar(&compact, "compact", false, "one character per cell, whatever the number of cells")
	f.IntVar(&width, "width", 0, "columns to draw in (default: the terminal's width, else $COLUMNS, else 100)")
	f.StringVar(&color, "color", "auto", "auto, always or never")
	f.StringVar(&source, "source", "auto", "auto (the reps, the BBS for cells whose rep fails) or bbs (the BBS only)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		opts, err := renderOptionsFor(env, color, width)
		if err != nil {
			return err
		}
		if source != "auto" && source != sourceBBS {
			return validationf("--source must be auto or bbs, not %q", source)
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		cells, err := client.Cells(ctx)
		if err != nil {
			return commandErr(err)
		}
		loads := make([]cellLoad, len(cells))
		estimate := make([]int, 0, len(cells)) // indexes of cells estimated from the BBS
		if source == sourceBBS {
			for i := range cells {
				estimate = append(estimate, i)
			}
		} else {
			reps, err := c.repClient(distributionWait, distributionFetchers)
			if err != nil {
				return err
			}
			states, errs := reps.states(ctx, cells)
			for i, cell := range cells {
				if errs[i] != nil {
					estimate = append(estimate, i)
					continue
				}
				loads[i] = loadFromState(cell, states[i])
			}
		}
		if len(estimate) > 0 {
			if err := estimateFromBBS(ctx, client, cells, estimate, loads); err != nil {
				return commandErr(err)
			}
		}
		opts.Compact = compact || len(cells) > compactAbove
		return renderDistribution(env.Stdout, loads, opts)
	}
	return cmd
}

// renderOptionsFor settles colour and width from the flags, the terminal
// and the environment.
func renderOptionsFor(env *Env, color string, width int) (renderOptions, error) {
	isTerminal, termWidth := false, 0
	if env.Terminal != nil {
		isTerminal, termWidth = env.Terminal()
	}
	var o renderOptions
	switch color {
	case "auto":
		o.Color = isTerminal && env.getenv("NO_COLOR") == "" && env.getenv("TERM") != "dumb"
	case "always":
		o.Color = true
	case "never":
	default:
		return o, validationf("--color must be auto, always or never, not %q", color)
	}
	if width < 0 {
		return o, validationf("--width must not be negative")
	}
	o.Width = width
	if o.Width == 0 {
		o.Width = termWidth
	}
	if o.Width == 0 {
		if n, err := strconv.Atoi(env.getenv("COLUMNS")); err == nil && n > 0 {
			o.Width = n
		}
	}
	if o.Width == 0 {
		o.Width = 100
	}
	return o, nil
}

// loadFromState reads a cell's use from its rep's state.
func loadFromState(cell *models.CellPresence, s *cellState) cellLoad {
	zone := cell.GetZone()
	if zone == "" {
		zone = s.Zone
	}
	used := func(total, available int64) usage { return usage{Used: total - available, Total: total} }
	return cellLoad{
		ID:         cell.GetCellId(),
		Zone:       zone,
		Memory:     used(int64(s.TotalResources.MemoryMB), int64(s.AvailableResources.MemoryMB)),
		Disk:       used(int64(s.TotalResources.DiskMB), int64(s.AvailableResources.DiskMB)),
		Containers: used(int64(s.TotalResources.Containers), int64(s.AvailableResources.Containers)),
		Instances:  len(s.LRPs),
		Tasks:      len(s.Tasks),
		Source:     sourceRep,
		Evacuating: s.Evacuating,
	}
}

// estimateFromBBS fills loads[i] for the cells at the given indexes from
// what the BBS knows: the capacity their presence announces, and the
// memory and disk of the instances (claimed or running, evacuating ones
// included) and running tasks placed on them.
func estimateFromBBS(ctx context.Context, client *bbsclient.Client, cells []*models.CellPresence, indexes []int, loads []cellLoad) error {
	infos, err := client.DesiredLRPSchedulingInfos(ctx, bbsclient.DesiredLRPFilter{})
	if err != nil {
		return err
	}
	lrps, err := client.ActualLRPs(ctx, bbsclient.ActualLRPFilter{})
	if err != nil {
		return err
	}
	tasks, err := client.Tasks(ctx, bbsclient.TaskFilter{})
	if err != nil {
		return err
	}
	byID := make(map[string]*cellLoad, len(indexes))
	for _, i := range indexes {
		capacity := cells[i].GetCapacity()
		loads[i] = cellLoad{
			ID: cells[i].GetCellId(), Zone: cells[i].GetZone(), Source: sourceBBS,
			Memory:     usage{Total: int64(capacity.GetMemoryMb())},
			Disk:       usage{Total: int64(capacity.GetDiskMb())},
			Containers: usage{Total: int64(capacity.GetContainers())},
		}
		byID[loads[i].ID] = &loads[i]
	}
	resources := make(map[string]*models.DesiredLRPResource, len(infos))
	for _, info := range infos {
		resources[info.GetDesiredLrpKey().GetProcessGuid()] = info.GetDesiredLrpResource()
	}
	for _, lrp := range lrps {
		state := lrp.GetState()
		if state != models.ActualLRPStateClaimed && state != models.ActualLRPStateRunning {
			continue
		}
		l := byID[lrp.GetActualLrpInstanceKey().GetCellId()]
		if l == nil {
			continue
		}
		r := resources[lrp.GetActualLrpKey().GetProcessGuid()]
		l.add(int64(r.GetMemoryMb()), int64(r.GetDiskMb()))
		l.Instances++
	}
	for _, t := range tasks {
		l := byID[t.GetCellId()]
		if l == nil || t.GetState() != models.Task_Running {
			continue
		}
		l.add(int64(t.GetTaskDefinition().GetMemoryMb()), int64(t.GetTaskDefinition().GetDiskMb()))
		l.Tasks++
	}
	return nil
}

func (l *cellLoad) add(memoryMB, diskMB int64) {
	l.Memory.Used += memoryMB
	l.Disk.Used += diskMB
	l.Containers.Used++
}

// String is a one-line summary, for messages and tests.
func (l cellLoad) String() string {
	return fmt.Sprintf("%s/%s mem %d/%d disk %d/%d ctr %d/%d inst %d tasks %d (%s)", l.Zone, l.ID,
		l.Memory.Used, l.Memory.Total, l.Disk.Used, l.Disk.Total, l.Containers.Used, l.Containers.Total, l.Instances, l.Tasks, l.Source)
}
