package cfdot

import (
	"encoding/json"
	"fmt"

	"github.com/diego-go/diego/internal/models"
)

// cellState is a rep's GET /state document (auction-rep-executor §3.3).
// cfdot decodes it and prints it again, so the fields, their order, their
// keys and their empty values are those of the rep's own type: fields the
// rep adds are dropped and missing ones print as zero values.
type cellState struct {
	RepURL                  string `json:"rep_url"`
	CellID                  string `json:"cell_id"`
	CellIndex               int    `json:"cell_index"`
	RootFSProviders         rootFSProviders
	AvailableResources      repResources
	TotalResources          repResources
	LRPs                    []repLRP
	Tasks                   []repTask
	StartingContainerCount  int
	Zone                    string
	Evacuating              bool
	VolumeDrivers           []string
	PlacementTags           []string
	OptionalPlacementTags   []string
	ProxyMemoryAllocationMB int
}

type repResources struct {
	MemoryMB   int32
	DiskMB     int32
	Containers int
}

// repResource is what one container reserves.
type repResource struct {
	MemoryMB int32
	DiskMB   int32
	MaxPids  int32
}

type placementConstraint struct {
	PlacementTags []string
	VolumeDrivers []string
	RootFs        string
}

// lrpKey is the ActualLRPKey as the rep embeds it: every key printed.
type lrpKey struct {
	ProcessGuid string `json:"process_guid"`
	Index       int32  `json:"index"`
	Domain      string `json:"domain"`
}

type repLRP struct {
	InstanceGUID string `json:"instance_guid"`
	lrpKey
	placementConstraint
	repResource
	State string `json:"state"`
}

type repTask struct {
	TaskGuid string
	Domain   string
	placementConstraint
	repResource
	State  taskState `json:"state"`
	Failed bool      `json:"failed"`
}

// taskState is a task state by name ("Running").
type taskState int32

func (s taskState) MarshalJSON() ([]byte, error) {
	return json.Marshal(models.Task_State(s).String())
}

func (s *taskState) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	v, ok := models.Task_State_value[name]
	if !ok {
		return fmt.Errorf("invalid state: %s", name)
	}
	*s = taskState(v)
	return nil
}

// rootFSProviders maps a rootfs scheme to what the cell offers for it. A
// provider of an unknown type is kept as null.
type rootFSProviders map[string]json.Marshaler

type arbitraryProvider struct{}

func (arbitraryProvider) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"type": "arbitrary"})
}

// fixedSetProvider offers the rootfses of its set (stack names).
type fixedSetProvider struct {
	set map[string]struct{}
}

func (p fixedSetProvider) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"type": "fixed_set", "set": p.set})
}

func (p *rootFSProviders) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*p = rootFSProviders{}
	for scheme, value := range raw {
		var envelope struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(value, &envelope); err != nil {
			return err
		}
		switch envelope.Type {
		case "arbitrary":
			(*p)[scheme] = arbitraryProvider{}
		case "fixed_set":
			var fixed struct {
				Set map[string]struct{} `json:"set"`
			}
			if err := json.Unmarshal(value, &fixed); err != nil {
				return err
			}
			(*p)[scheme] = fixedSetProvider{set: fixed.Set}
		default:
			(*p)[scheme] = nil
		}
	}
	return nil
}
