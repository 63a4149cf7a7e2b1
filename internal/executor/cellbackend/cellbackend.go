// Package cellbackend is the executor's backend on a real cell: containers
// on containerd (package containerd) joined to CNI networks (package
// network), with the health check binary mounted in each.
//
//	Create:  network.Setup (netns, IP, host ports, egress rules)
//	         └─► containerd.Create (rootfs, limits, env, netns, resolv.conf,
//	             hosts, /etc/cf-assets/healthcheck read-only)
//	Destroy: containerd.Delete ─► network.Teardown   (both idempotent)
package cellbackend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/network"
	"github.com/diego-go/diego/internal/executor/steps"
)

// HealthCheckMountPath is where the health check binary's directory is
// mounted in every container (the directory of steps.DefaultHealthCheckPath).
const HealthCheckMountPath = "/etc/cf-assets/healthcheck"

// DefaultMaxContainers is the cell's container capacity when not set.
const DefaultMaxContainers = 250

// Config configures a Backend.
type Config struct {
	// Containerd runs the containers (required).
	Containerd *containerd.Backend
	// Network gives them their networks; nil = each container has a
	// network namespace with loopback only, and no host ports.
	Network *network.Manager
	// HostIP is the cell's address reported without a Network.
	HostIP string
	// HealthCheckDir is a host directory holding the healthcheck binary,
	// mounted read-only at HealthCheckMountPath; empty = none.
	HealthCheckDir string
	// MemoryMB and DiskMB are the capacity; 0 = the machine's memory and
	// the size of the file system of DiskPath.
	MemoryMB, DiskMB int
	// DiskPath is measured when DiskMB is 0 (containerd's root).
	DiskPath string
	// MaxContainers is the container capacity (DefaultMaxContainers).
	MaxContainers int
	Logger        lager.Logger
}

// Backend is the executor.Backend of a cell.
type Backend struct {
	cfg Config
}

var _ executor.Backend = (*Backend)(nil)

// New checks cfg.
func New(cfg Config) (*Backend, error) {
	if cfg.Containerd == nil {
		return nil, errors.New("cellbackend: containerd backend is required")
	}
	if cfg.HealthCheckDir != "" {
		if st, err := os.Stat(cfg.HealthCheckDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("cellbackend: health check directory %q is not a directory", cfg.HealthCheckDir)
		}
	}
	if cfg.MemoryMB < 0 || cfg.DiskMB < 0 || cfg.MaxContainers < 0 {
		return nil, errors.New("cellbackend: negative capacity")
	}
	if cfg.MaxContainers == 0 {
		cfg.MaxContainers = DefaultMaxContainers
	}
	if cfg.HostIP == "" {
		cfg.HostIP = network.DefaultHostIP
	}
	if cfg.Logger == nil {
		cfg.Logger = lager.NewLogger("cellbackend")
	}
	return &Backend{cfg: cfg}, nil
}

// Create sets up the network, then the container in it.
func (b *Backend) Create(ctx context.Context, spec executor.Spec) (_ executor.BackendContainer, err error) {
	cs := containerd.ContainerSpec{
		ID:               spec.Guid,
		RootFS:           spec.RootFS,
		ImageUsername:    spec.ImageUsername,
		ImagePassword:    spec.ImagePassword,
		DiskLimitBytes:   spec.DiskLimitBytes,
		MemoryLimitBytes: spec.MemoryLimitBytes,
		MaxPids:          spec.MaxPids,
		CPUShares:        spec.CPUShares,
		Env:              spec.Env,
		Labels:           spec.Labels,
	}
	if b.cfg.HealthCheckDir != "" {
		cs.BindMounts = append(cs.BindMounts, containerd.BindMount{Source: b.cfg.HealthCheckDir, Destination: HealthCheckMountPath, ReadOnly: true})
	}
	info := executor.NetInfo{ExternalIP: b.cfg.HostIP}
	if b.cfg.Network != nil {
		res, err := b.cfg.Network.Setup(ctx, spec.Guid, network.SetupRequest{Ports: spec.Ports, EgressRules: spec.EgressRules})
		if err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
		defer func() {
			if err != nil {
				if terr := b.cfg.Network.Teardown(context.WithoutCancel(ctx), spec.Guid); terr != nil {
					b.cfg.Logger.Error("failed-to-tear-down-network", terr, lager.Data{"guid": spec.Guid})
				}
			}
		}()
		cs.NetNSPath, cs.ResolvConfPath, cs.HostsPath = res.NetNSPath, res.ResolvConfPath, res.HostsPath
		info = executor.NetInfo{ExternalIP: res.HostIP, InternalIP: res.ContainerIP, Ports: res.Ports, Env: res.Env()}
	} else {
		info.Env = network.InstanceEnv(info.ExternalIP, "", "", nil)
	}
	c, err := b.cfg.Containerd.Create(ctx, cs)
	if err != nil {
		return nil, err
	}
	return &container{Container: steps.FromContainerd(c), c: c, net: info}, nil
}

// Destroy deletes the container, then its network.
func (b *Backend) Destroy(ctx context.Context, guid string) error {
	if err := b.cfg.Containerd.Delete(ctx, guid); err != nil {
		return err
	}
	if b.cfg.Network != nil {
		return b.cfg.Network.Teardown(ctx, guid)
	}
	return nil
}

// List returns the containers of this cell in containerd.
func (b *Backend) List(ctx context.Context) ([]string, error) { return b.cfg.Containerd.List(ctx) }

// Cleanup removes the containers and networks of a previous run.
func (b *Backend) Cleanup(ctx context.Context) error {
	if err := b.cfg.Containerd.Cleanup(ctx); err != nil {
		return err
	}
	if b.cfg.Network != nil {
		return b.cfg.Network.Cleanup(ctx)
	}
	return nil
}

// Capacity is the configured capacity, or the machine's.
func (b *Backend) Capacity(context.Context) (executor.Resources, error) {
	r := executor.Resources{MemoryMB: b.cfg.MemoryMB, DiskMB: b.cfg.DiskMB, Containers: b.cfg.MaxContainers}
	if r.MemoryMB == 0 {
		mb, err := machineMemoryMB()
		if err != nil {
			return r, err
		}
		r.MemoryMB = mb
	}
	if r.DiskMB == 0 {
		path := b.cfg.DiskPath
		if path == "" {
			path = "/"
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(path, &st); err != nil {
			return r, fmt.Errorf("measuring disk of %s: %w", path, err)
		}
		r.DiskMB = int(st.Blocks * uint64(st.Bsize) / (1 << 20))
	}
	return r, nil
}

func machineMemoryMB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("/proc/meminfo has no MemTotal")
}

// BulkMetrics returns the metrics containerd could read.
func (b *Backend) BulkMetrics(ctx context.Context, guids []string) map[string]executor.Metrics {
	out := map[string]executor.Metrics{}
	for guid, e := range b.cfg.Containerd.BulkMetrics(ctx, guids) {
		if e.Err != nil {
			b.cfg.Logger.Debug("no-metrics", lager.Data{"guid": guid, "error": e.Err.Error()})
			continue
		}
		out[guid] = e.Metrics
	}
	return out
}

type container struct {
	steps.Container
	c   *containerd.Container
	net executor.NetInfo
}

func (c *container) Net() executor.NetInfo { return c.net }
func (c *container) Failure() error        { return c.c.Exceeded() }
