package repclient

import (
	"encoding/json"
	"fmt"

	"github.com/diego-go/diego/internal/models"
)

// InternalRouterKey is the routes key of container-to-container hostnames.
const InternalRouterKey = "internal-router"

// LRPUpdate is the body of PUT /v2/lrps/{pg}/instances/{ig}:
//
//	{"instance_guid","process_guid","index","domain","internal_routes":[{"hostname"}],"metric_tags":{...}}
//
// Every key is always printed; nil lists and maps print as null. A nil
// InternalRoutes means "not changed" and decides whether an old rep gets
// the update on the v1 route.
type LRPUpdate struct {
	InstanceGuid   string            `json:"instance_guid"`
	ProcessGuid    string            `json:"process_guid"`
	Index          int32             `json:"index"`
	Domain         string            `json:"domain"`
	InternalRoutes []InternalRoute   `json:"internal_routes"`
	MetricTags     map[string]string `json:"metric_tags"`
}

// InternalRoute is a hostname other containers reach the instance by.
type InternalRoute struct {
	Hostname string `json:"hostname"`
}

// NewLRPUpdate builds the update of the instance (key, instanceGuid).
func NewLRPUpdate(key *models.ActualLRPKey, instanceGuid string, internalRoutes []InternalRoute, metricTags map[string]string) *LRPUpdate {
	return &LRPUpdate{
		InstanceGuid:   instanceGuid,
		ProcessGuid:    key.GetProcessGuid(),
		Index:          key.GetIndex(),
		Domain:         key.GetDomain(),
		InternalRoutes: internalRoutes,
		MetricTags:     metricTags,
	}
}

// InternalRoutesFromRoutes reads the internal-router entry of routes: nil
// when there is none or it is JSON null, a non-nil (possibly empty) list
// otherwise.
func InternalRoutesFromRoutes(routes *models.ProtoRoutes) ([]InternalRoute, error) {
	raw, ok := routes.GetRoutes()[InternalRouterKey]
	if !ok || raw == nil {
		return nil, nil
	}
	list := []InternalRoute{}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("internal routes: %w", err)
	}
	return list, nil
}
