// Package repmodels holds the JSON bodies of the rep's auction API
// (auction-rep-executor §3.2–3.4): the CellState a rep answers on
// GET /state and the Work the auctioneer posts to /work (and the rep
// answers with the part it refused).
//
//	auctioneer --GET  /state--------------> rep  (200 CellState; 503 + CellState while unhealthy)
//	           --POST /work {LRPs,Tasks}--->      (200 Work = the refused subset)
//
// Keys are the reference's mix: the fields with an explicit tag are
// snake_case (rep_url, cell_id, instance_guid, process_guid, index, ...),
// the others carry their Go names (AvailableResources, LRPs, RootFs, ...).
// The resource, placement constraint and task types are those of the
// auctioneer's own API (auctioneerclient), as in the reference.
package repmodels

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
)

// Resources is an amount of memory, disk and container slots on a cell.
type Resources struct {
	MemoryMB   int32
	DiskMB     int32
	Containers int
}

// LRP is one LRP instance: in a CellState a container of the cell, in
// Work an instance to start (InstanceGUID empty: the rep makes it).
//
//	{"instance_guid","process_guid","index","domain","PlacementTags","VolumeDrivers","RootFs","MemoryMB","DiskMB","MaxPids","state"}
type LRP struct {
	InstanceGUID string `json:"instance_guid"`
	ProcessGuid  string `json:"process_guid"`
	Index        int32  `json:"index"`
	Domain       string `json:"domain"`
	auctioneerclient.PlacementConstraint
	auctioneerclient.Resource
	// State is CLAIMED, RUNNING, SHUTDOWN or CRASHED in a CellState, empty
	// in Work.
	State string `json:"state"`
}

// Task is a task as /state and /work carry it.
type Task = auctioneerclient.Task

// Work is the body of POST /work and of its answer. CellID, when set, must
// be the rep's own id or the rep refuses the whole request.
type Work struct {
	LRPs   []LRP
	Tasks  []Task
	CellID string `json:"cell_id,omitempty"`
}

// Empty reports whether w holds nothing.
func (w *Work) Empty() bool { return len(w.LRPs) == 0 && len(w.Tasks) == 0 }

// CellState is a rep's answer to GET /state.
type CellState struct {
	RepURL                  string `json:"rep_url"`
	CellID                  string `json:"cell_id"`
	CellIndex               int    `json:"cell_index"`
	RootFSProviders         RootFSProviders
	AvailableResources      Resources
	TotalResources          Resources
	LRPs                    []LRP
	Tasks                   []Task
	StartingContainerCount  int
	Zone                    string
	Evacuating              bool
	VolumeDrivers           []string
	PlacementTags           []string
	OptionalPlacementTags   []string
	ProxyMemoryAllocationMB int
}

// Root filesystem provider types.
const (
	ProviderArbitrary = "arbitrary"
	ProviderFixedSet  = "fixed_set"
)

// RootFSProviders maps a root filesystem URL scheme (docker, preloaded,
// preloaded+layer) to how the cell provides it.
type RootFSProviders map[string]RootFSProvider

// RootFSProvider is {"type":"arbitrary"} (any rootfs of the scheme) or
// {"set":{"cflinuxfs4":{}},"type":"fixed_set"} (the named stacks). A type
// we do not know is kept as it came, with no set.
type RootFSProvider struct {
	Type string
	Set  []string // stack names, sorted, for fixed_set
}

// Arbitrary returns a provider of any root filesystem of its scheme.
func Arbitrary() RootFSProvider { return RootFSProvider{Type: ProviderArbitrary} }

// FixedSet returns a provider of the named stacks.
func FixedSet(stacks ...string) RootFSProvider {
	s := slices.Clone(stacks)
	slices.Sort(s)
	return RootFSProvider{Type: ProviderFixedSet, Set: slices.Compact(s)}
}

// MarshalJSON prints the reference's envelope.
func (p RootFSProvider) MarshalJSON() ([]byte, error) {
	if p.Type != ProviderFixedSet {
		return json.Marshal(struct {
			Type string `json:"type"`
		}{p.Type})
	}
	set := make(map[string]struct{}, len(p.Set))
	for _, s := range p.Set {
		set[s] = struct{}{}
	}
	return json.Marshal(struct {
		Set  map[string]struct{} `json:"set"`
		Type string              `json:"type"`
	}{set, p.Type})
}

// UnmarshalJSON reads the envelope; the set is read only for fixed_set.
func (p *RootFSProvider) UnmarshalJSON(data []byte) error {
	var env struct {
		Type string                     `json:"type"`
		Set  map[string]json.RawMessage `json:"set"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("root filesystem provider: %w", err)
	}
	*p = RootFSProvider{Type: env.Type}
	if env.Type == ProviderFixedSet {
		for name := range env.Set {
			p.Set = append(p.Set, name)
		}
		slices.Sort(p.Set)
	}
	return nil
}
