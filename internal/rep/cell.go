// Package rep is the cell agent (auction-rep-executor §3) on top of the
// executor. This file is its auction side: the CellState it answers on
// GET /state and the allocation of the work the auctioneer posts to /work
// (§3.3–3.5). Containers carry their BBS identity in their tags, the rep's
// only durable memory.
package rep

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// Container tags (§3.5).
const (
	TagLifecycle     = "lifecycle"
	TagDomain        = "domain"
	TagProcessGuid   = "process-guid"
	TagProcessIndex  = "process-index"
	TagInstanceGuid  = "instance-guid"
	TagPlacementTags = "placement-tags"
	TagVolumeDrivers = "volume-drivers"
	TagResultFile    = "result-file"

	LifecycleLRP  = "lrp"
	LifecycleTask = "task"
)

// ErrCellIDMismatch is /work's answer to work for another cell.
var ErrCellIDMismatch = errors.New("cell id mismatch")

// Rootfs schemes of the reference.
const (
	schemePreloaded      = "preloaded"
	schemePreloadedLayer = "preloaded+layer"
)

// CellConfig is what the cell says of itself.
type CellConfig struct {
	CellID    string
	CellIndex int
	Zone      string
	// RepURL is the securable listener's URL (rep_url).
	RepURL string
	// PreloadedStacks are the stack names of preloaded_root_fs.
	PreloadedStacks []string
	// SupportedProviders are the arbitrary rootfs schemes (["docker"]).
	SupportedProviders    []string
	PlacementTags         []string
	OptionalPlacementTags []string
	VolumeDrivers         []string
	// ProxyMemoryAllocationMB is added to every LRP with memory when
	// EnableContainerProxy is set.
	EnableContainerProxy    bool
	ProxyMemoryAllocationMB int
}

// Cell answers the auction for one cell.
type Cell struct {
	cfg        CellConfig
	ex         *executor.Executor
	evacuating atomic.Bool
}

// NewCell returns the auction side of a cell.
func NewCell(cfg CellConfig, ex *executor.Executor) (*Cell, error) {
	if cfg.CellID == "" {
		return nil, errors.New("rep: cell id is required")
	}
	if ex == nil {
		return nil, errors.New("rep: executor is required")
	}
	if cfg.SupportedProviders == nil {
		cfg.SupportedProviders = []string{"docker"}
	}
	return &Cell{cfg: cfg, ex: ex}, nil
}

// SetEvacuating marks the cell evacuating: it takes no more work.
func (c *Cell) SetEvacuating() { c.evacuating.Store(true) }

// Evacuating reports whether the cell is evacuating.
func (c *Cell) Evacuating() bool { return c.evacuating.Load() }

func (c *Cell) proxyMB() int {
	if c.cfg.EnableContainerProxy {
		return c.cfg.ProxyMemoryAllocationMB
	}
	return 0
}

func resources(r executor.Resources) repmodels.Resources {
	return repmodels.Resources{MemoryMB: int32(r.MemoryMB), DiskMB: int32(r.DiskMB), Containers: r.Containers}
}

// State is the cell's CellState (§3.3).
func (c *Cell) State() repmodels.CellState {
	providers := repmodels.RootFSProviders{
		schemePreloaded:      repmodels.FixedSet(c.cfg.PreloadedStacks...),
		schemePreloadedLayer: repmodels.FixedSet(c.cfg.PreloadedStacks...),
	}
	for _, p := range c.cfg.SupportedProviders {
		providers[p] = repmodels.Arbitrary()
	}
	st := repmodels.CellState{
		RepURL:                  c.cfg.RepURL,
		CellID:                  c.cfg.CellID,
		CellIndex:               c.cfg.CellIndex,
		RootFSProviders:         providers,
		AvailableResources:      resources(c.ex.RemainingResources()),
		TotalResources:          resources(c.ex.TotalResources()),
		LRPs:                    []repmodels.LRP{},
		Tasks:                   []repmodels.Task{},
		Zone:                    c.cfg.Zone,
		Evacuating:              c.Evacuating(),
		VolumeDrivers:           c.cfg.VolumeDrivers,
		PlacementTags:           c.cfg.PlacementTags,
		OptionalPlacementTags:   c.cfg.OptionalPlacementTags,
		ProxyMemoryAllocationMB: c.proxyMB(),
	}
	for _, ctr := range c.ex.ListContainers() {
		switch ctr.State {
		case executor.StateReserved, executor.StateInitializing, executor.StateCreated:
			st.StartingContainerCount++
		}
		constraint, ok := placement(ctr)
		if !ok {
			continue
		}
		res := auctioneerclient.Resource{MemoryMB: int32(ctr.MemoryMB), DiskMB: int32(ctr.DiskMB), MaxPids: int32(ctr.MaxPids)}
		switch ctr.Tags[TagLifecycle] {
		case LifecycleLRP:
			index, err := strconv.Atoi(ctr.Tags[TagProcessIndex])
			if err != nil {
				continue
			}
			st.LRPs = append(st.LRPs, repmodels.LRP{
				InstanceGUID: ctr.Tags[TagInstanceGuid], ProcessGuid: ctr.Tags[TagProcessGuid],
				Index: int32(index), Domain: ctr.Tags[TagDomain],
				PlacementConstraint: constraint, Resource: res, State: lrpState(ctr),
			})
		case LifecycleTask:
			state := models.Task_Running
			if ctr.State == executor.StateCompleted {
				state = models.Task_Completed
			}
			st.Tasks = append(st.Tasks, repmodels.Task{
				TaskGuid: ctr.Guid, Domain: ctr.Tags[TagDomain], PlacementConstraint: constraint,
				Resource: res, State: auctioneerclient.TaskState(state), Failed: ctr.RunResult.Failed,
			})
		}
	}
	return st
}

// placement reads a container's placement tags and volume drivers; false
// for a container without them (not the rep's, or unparsable).
func placement(ctr executor.Container) (auctioneerclient.PlacementConstraint, bool) {
	var p auctioneerclient.PlacementConstraint
	if ctr.Tags == nil {
		return p, false
	}
	if err := json.Unmarshal([]byte(ctr.Tags[TagPlacementTags]), &p.PlacementTags); err != nil {
		return p, false
	}
	if err := json.Unmarshal([]byte(ctr.Tags[TagVolumeDrivers]), &p.VolumeDrivers); err != nil {
		return p, false
	}
	p.RootFs = ctr.RootFSPath
	return p, true
}

func lrpState(ctr executor.Container) string {
	switch ctr.State {
	case executor.StateRunning:
		return models.ActualLRPStateRunning
	case executor.StateCompleted:
		if ctr.RunResult.Failed {
			return models.ActualLRPStateCrashed
		}
		return "SHUTDOWN"
	}
	return models.ActualLRPStateClaimed
}

// Perform reserves containers for work and returns the part it refused
// (§3.4). Work for another cell is refused whole with ErrCellIDMismatch.
func (c *Cell) Perform(work repmodels.Work) (repmodels.Work, error) {
	if work.CellID != "" && work.CellID != c.cfg.CellID {
		return repmodels.Work{}, fmt.Errorf("%w: work for %q sent to %q", ErrCellIDMismatch, work.CellID, c.cfg.CellID)
	}
	failed := repmodels.Work{}
	if c.Evacuating() {
		failed.LRPs, failed.Tasks = work.LRPs, work.Tasks
		return failed, nil
	}
	proxy := c.proxyMB()
	lrps := slices.Clone(work.LRPs)
	slices.SortStableFunc(lrps, func(a, b repmodels.LRP) int { return int(b.MemoryMB) - int(a.MemoryMB) })
	remaining := c.ex.RemainingResources().MemoryMB
	for _, lrp := range lrps {
		need := int(lrp.MemoryMB) + proxy
		if need > remaining {
			failed.LRPs = append(failed.LRPs, lrp)
			continue
		}
		remaining -= need
		if !c.supports(lrp.RootFs) {
			failed.LRPs = append(failed.LRPs, lrp)
			continue
		}
		mem := int(lrp.MemoryMB)
		if mem > 0 {
			mem += proxy
		}
		guid := uuid.NewString()[:28]
		tags := map[string]string{
			TagLifecycle: LifecycleLRP, TagDomain: lrp.Domain,
			TagProcessGuid: lrp.ProcessGuid, TagProcessIndex: strconv.Itoa(int(lrp.Index)),
			TagInstanceGuid:  guid,
			TagPlacementTags: jsonList(lrp.PlacementTags), TagVolumeDrivers: jsonList(lrp.VolumeDrivers),
		}
		req := executor.AllocationRequest{Guid: guid, Resource: executor.Resource{MemoryMB: mem, DiskMB: int(lrp.DiskMB), MaxPids: int(lrp.MaxPids)}, Tags: tags}
		if f := c.ex.Allocate([]executor.AllocationRequest{req}); len(f) > 0 {
			failed.LRPs = append(failed.LRPs, lrp)
		}
	}
	for _, task := range work.Tasks {
		if !c.supports(task.RootFs) {
			failed.Tasks = append(failed.Tasks, task)
			continue
		}
		tags := map[string]string{
			TagLifecycle: LifecycleTask, TagDomain: task.Domain,
			TagPlacementTags: jsonList(task.PlacementTags), TagVolumeDrivers: jsonList(task.VolumeDrivers),
		}
		req := executor.AllocationRequest{Guid: task.TaskGuid, Resource: executor.Resource{MemoryMB: int(task.MemoryMB), DiskMB: int(task.DiskMB), MaxPids: int(task.MaxPids)}, Tags: tags}
		if f := c.ex.Allocate([]executor.AllocationRequest{req}); len(f) > 0 {
			failed.Tasks = append(failed.Tasks, task)
		}
	}
	return failed, nil
}

// supports reports whether the cell provides rootfs.
func (c *Cell) supports(rootfs string) bool {
	scheme, rest, ok := strings.Cut(rootfs, ":")
	if !ok {
		return false
	}
	switch scheme {
	case schemePreloaded, schemePreloadedLayer:
		stack, _, _ := strings.Cut(strings.TrimPrefix(rest, "///"), "?")
		return slices.Contains(c.cfg.PreloadedStacks, stack)
	}
	return slices.Contains(c.cfg.SupportedProviders, scheme)
}

// jsonList is a list as the reference's tags hold it: `["a"]`, `null`.
func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}
