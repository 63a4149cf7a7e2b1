package runner

import (
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// Conversions between the wire (auctioneer requests, rep bodies) and the
// scheduler's types.

func constraint(pc auctioneerclient.PlacementConstraint) auction.Constraint {
	return auction.Constraint{RootFs: pc.RootFs, PlacementTags: pc.PlacementTags, VolumeDrivers: pc.VolumeDrivers}
}

func placementConstraint(c auction.Constraint) auctioneerclient.PlacementConstraint {
	return auctioneerclient.PlacementConstraint{PlacementTags: c.PlacementTags, VolumeDrivers: c.VolumeDrivers, RootFs: c.RootFs}
}

func lrpFromStart(s *auctioneerclient.LRPStartRequest, index int) auction.LRP {
	return auction.LRP{
		ProcessGuid: s.ProcessGuid,
		Index:       index,
		Domain:      s.Domain,
		Constraint:  constraint(s.PlacementConstraint),
		MemoryMB:    int64(s.MemoryMB),
		DiskMB:      int64(s.DiskMB),
		MaxPids:     int64(s.MaxPids),
	}
}

func taskFromStart(t *auctioneerclient.TaskStartRequest) auction.Task {
	return auction.Task{
		TaskGuid:   t.TaskGuid,
		Domain:     t.Domain,
		Constraint: constraint(t.PlacementConstraint),
		MemoryMB:   int64(t.MemoryMB),
		DiskMB:     int64(t.DiskMB),
		MaxPids:    int64(t.MaxPids),
	}
}

// The values come from int32 fields of the request, so they fit back.

func repLRP(l *auction.LRP) repmodels.LRP {
	return repmodels.LRP{
		ProcessGuid:         l.ProcessGuid,
		Index:               int32(l.Index),
		Domain:              l.Domain,
		PlacementConstraint: placementConstraint(l.Constraint),
		Resource:            auctioneerclient.Resource{MemoryMB: int32(l.MemoryMB), DiskMB: int32(l.DiskMB), MaxPids: int32(l.MaxPids)},
	}
}

func repTask(t *auction.Task) repmodels.Task {
	return repmodels.Task{
		TaskGuid:            t.TaskGuid,
		Domain:              t.Domain,
		PlacementConstraint: placementConstraint(t.Constraint),
		Resource:            auctioneerclient.Resource{MemoryMB: int32(t.MemoryMB), DiskMB: int32(t.DiskMB), MaxPids: int32(t.MaxPids)},
	}
}

// cellFromState reduces a rep's state to what the scheduler needs; id is
// the cell id of the presence the state was fetched through.
func cellFromState(id string, s *repmodels.CellState) auction.Cell {
	c := auction.Cell{
		ID:                    id,
		CellIndex:             s.CellIndex,
		Zone:                  s.Zone,
		RootFSProviders:       make(map[string]auction.RootFSProvider, len(s.RootFSProviders)),
		VolumeDrivers:         s.VolumeDrivers,
		PlacementTags:         s.PlacementTags,
		OptionalPlacementTags: s.OptionalPlacementTags,
		Total:                 resources(s.TotalResources),
		Available:             resources(s.AvailableResources),
		ProxyMemoryMB:         int64(s.ProxyMemoryAllocationMB),
		StartingContainers:    s.StartingContainerCount,
		Instances:             make(map[string]int),
		Tasks:                 len(s.Tasks),
		Evacuating:            s.Evacuating,
	}
	for scheme, p := range s.RootFSProviders {
		switch p.Type {
		case repmodels.ProviderArbitrary:
			c.RootFSProviders[scheme] = auction.RootFSProvider{Kind: auction.ProviderArbitrary}
		case repmodels.ProviderFixedSet:
			c.RootFSProviders[scheme] = auction.RootFSProvider{Kind: auction.ProviderFixedSet, Set: p.Set}
		default:
			c.RootFSProviders[scheme] = auction.RootFSProvider{Kind: auction.ProviderUnknown}
		}
	}
	for i := range s.LRPs {
		c.Instances[s.LRPs[i].ProcessGuid]++
	}
	return c
}

func resources(r repmodels.Resources) auction.Resources {
	return auction.Resources{MemoryMB: int64(r.MemoryMB), DiskMB: int64(r.DiskMB), Containers: int64(r.Containers)}
}
