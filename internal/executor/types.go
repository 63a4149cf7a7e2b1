// Package executor is the cell's container manager, a library inside the rep
// (shared/reference auction-rep-executor.md §4): it reserves resources for
// containers, creates them on a Backend (containerd in a cell, memory in
// diego-bench), runs their step trees, tracks their states and reports them
// as events.
//
//	Allocate ──► reserved ──RunContainer──► initializing ──create pool──► created
//	                                                                          │ step tree ready
//	any state ──► completed (failed / reason / stopped)  ◄── tree exits ── running
//	DeleteContainer: stop, wait for the tree, destroy, return the resources
package executor

import (
	"maps"
	"slices"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/network"
	"github.com/diego-go/diego/internal/models"
)

// State is where a container is in its life (§4.1).
type State string

// The states, in order; any state may go to StateCompleted.
const (
	StateReserved     State = "reserved"
	StateInitializing State = "initializing"
	StateCreated      State = "created"
	StateRunning      State = "running"
	StateCompleted    State = "completed"
)

// canTransition reports whether from → to is allowed.
func canTransition(from, to State) bool {
	if to == StateCompleted {
		return from != StateCompleted
	}
	switch from {
	case StateReserved:
		return to == StateInitializing
	case StateInitializing:
		return to == StateCreated
	case StateCreated:
		return to == StateRunning
	}
	return false
}

// Resource is what a container reserves.
type Resource struct {
	MemoryMB int `json:"memory_mb"`
	DiskMB   int `json:"disk_mb"`
	MaxPids  int `json:"max_pids"`
}

// Resources are the cell's totals or what remains of them.
type Resources struct {
	MemoryMB   int `json:"memory_mb"`
	DiskMB     int `json:"disk_mb"`
	Containers int `json:"containers"`
}

// PortMapping is a container port and its host port.
type PortMapping = network.PortMapping

// Metrics are a container's usage (Garden's BulkMetrics).
type Metrics = containerd.ContainerMetrics

// LogConfig says how a container's logs are tagged.
type LogConfig struct {
	// Guid is the log guid (source_id); empty = nothing is logged.
	Guid string `json:"guid"`
	// Index is the instance index.
	Index int `json:"index"`
	// SourceName is the default source name (LOG if empty).
	SourceName string            `json:"source_name"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// RunInfo is what a container runs, set by RunContainer.
type RunInfo struct {
	// RootFSPath is `preloaded:<stack>` or a `docker://` image.
	RootFSPath    string `json:"rootfs"`
	ImageUsername string `json:"image_username,omitempty"`
	ImagePassword string `json:"image_password,omitempty"`
	// CPUWeight is 1-100 (0 = the runtime's default).
	CPUWeight  uint32 `json:"cpu_weight"`
	Privileged bool   `json:"privileged"`
	// Ports are the container ports to map to host ports.
	Ports     []uint32  `json:"ports"`
	LogConfig LogConfig `json:"log_config"`
	// LogRateLimitBytesPerSecond is the app's log rate limit (-1 = none).
	LogRateLimitBytesPerSecond int64 `json:"log_rate_limit_bytes_per_second"`
	// StartTimeoutMs bounds the startup health check (0 = none).
	StartTimeoutMs  uint32                      `json:"start_timeout_ms"`
	Setup           *models.Action              `json:"setup,omitempty"`
	Action          *models.Action              `json:"run,omitempty"`
	Monitor         *models.Action              `json:"monitor,omitempty"`
	CheckDefinition *models.CheckDefinition     `json:"check_definition,omitempty"`
	Sidecars        []*models.Sidecar           `json:"sidecars,omitempty"`
	EgressRules     []*models.SecurityGroupRule `json:"egress_rules,omitempty"`
	// Env (NAME=value) is the container's environment, given to every
	// process.
	Env []string `json:"env,omitempty"`
}

// RunResult is how a container completed.
type RunResult struct {
	Failed        bool   `json:"failed"`
	FailureReason string `json:"failure_reason"`
	// Retryable: the failure was the cell's (creation), not the work's.
	Retryable bool `json:"retryable"`
	// Stopped: the container was stopped by StopContainer/DeleteContainer.
	Stopped bool `json:"stopped"`
}

// Container is the executor's record of a container.
type Container struct {
	Guid string `json:"guid"`
	Resource
	RunInfo
	Tags  map[string]string `json:"tags,omitempty"`
	State State             `json:"state"`
	// Routable: running, and the last readiness check (if any) passed.
	Routable bool `json:"routable"`
	// AllocatedAt is the reservation's time in Unix nanoseconds.
	AllocatedAt int64 `json:"allocated_at"`
	// ExternalIP is the cell's address of the host ports, InternalIP the
	// container's own (set once created).
	ExternalIP string        `json:"external_ip,omitempty"`
	InternalIP string        `json:"internal_ip,omitempty"`
	Ports      []PortMapping `json:"ports,omitempty"`
	// MemoryLimit and DiskLimit are the bytes applied (0 = none).
	MemoryLimit uint64    `json:"memory_limit"`
	DiskLimit   uint64    `json:"disk_limit"`
	RunResult   RunResult `json:"run_result"`
}

// Copy returns a copy sharing nothing mutable with c (the actions are
// shared: nothing modifies them).
func (c Container) Copy() Container {
	c.Tags = maps.Clone(c.Tags)
	c.Ports = slices.Clone(c.Ports)
	c.RunInfo.Ports = slices.Clone(c.RunInfo.Ports)
	c.RunInfo.Env = slices.Clone(c.RunInfo.Env)
	c.LogConfig.Tags = maps.Clone(c.LogConfig.Tags)
	return c
}

// HasTags reports whether every tag of want is on c.
func (c *Container) HasTags(want map[string]string) bool {
	for k, v := range want {
		if c.Tags[k] != v {
			return false
		}
	}
	return true
}

// AllocationRequest reserves resources for a container.
type AllocationRequest struct {
	Guid string `json:"guid"`
	Resource
	Tags map[string]string `json:"tags,omitempty"`
}

// AllocationFailure is a request Allocate refused, and why.
type AllocationFailure struct {
	AllocationRequest
	Err error
}

func (f AllocationFailure) Error() string { return f.Err.Error() }
func (f AllocationFailure) Unwrap() error { return f.Err }

// RunRequest starts a reserved container.
type RunRequest struct {
	Guid string
	RunInfo
	// Tags are merged into the allocation's tags.
	Tags map[string]string
}

// EventType names an event.
type EventType string

// The events of §4.1.
const (
	EventContainerReserved EventType = "container_reserved"
	EventContainerRunning  EventType = "container_running"
	EventContainerComplete EventType = "container_complete"
)

// Event is a change of a container: reserved, running (again at each
// readiness flip) or complete.
type Event struct {
	Type      EventType
	Container Container
}
