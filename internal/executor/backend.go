package executor

import (
	"context"

	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

// Backend makes and destroys containers: package cellbackend on containerd
// with CNI networking, package memory for diego-bench's simulated cells.
type Backend interface {
	// Create makes a container with its network, ready to run processes.
	// On error nothing of it is left.
	Create(ctx context.Context, spec Spec) (BackendContainer, error)
	// Destroy removes a container and frees everything it held (ports,
	// addresses, snapshots, cgroups, rules). A missing container is not an
	// error.
	Destroy(ctx context.Context, guid string) error
	// List returns the guids of the containers the backend holds.
	List(ctx context.Context) ([]string, error)
	// Cleanup removes what a previous run of the cell left.
	Cleanup(ctx context.Context) error
	// Capacity is what the cell can give containers.
	Capacity(ctx context.Context) (Resources, error)
	// BulkMetrics returns the metrics of the listed containers; a container
	// whose metrics failed is left out.
	BulkMetrics(ctx context.Context, guids []string) map[string]Metrics
}

// Spec is a container to create.
type Spec struct {
	Guid                         string
	RootFS                       string
	ImageUsername, ImagePassword string
	MemoryLimitBytes             uint64
	DiskLimitBytes               uint64
	MaxPids                      int64
	CPUShares                    uint64
	Privileged                   bool
	// Env (NAME=value) is given to every process.
	Env []string
	// Ports are container ports to map to host ports.
	Ports       []uint32
	EgressRules []*models.SecurityGroupRule
	// Labels are stored with the container.
	Labels map[string]string
}

// BackendContainer is a created container.
type BackendContainer interface {
	steps.Container
	// Net is the container's network.
	Net() NetInfo
	// Failure is why the backend stopped the container itself (its disk
	// limit), nil if it did not.
	Failure() error
}

// NetInfo is a created container's network.
type NetInfo struct {
	ExternalIP string
	InternalIP string
	Ports      []PortMapping
	// Env are the CF_INSTANCE_* variables of every process the executor
	// runs in the container.
	Env []string
}
