package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/coreos/go-iptables/iptables"

	"github.com/diego-go/diego/internal/models"
)

// ifName is the container's interface.
const ifName = "eth0"

// iptablesWait bounds the wait for the xtables lock, in seconds.
const iptablesWait = 30

// requiredPlugins are the CNI plugins a cell's network uses.
var requiredPlugins = []string{"bridge", "host-local"}

// SetupRequest is what a container's network needs.
type SetupRequest struct {
	// Ports are the container ports to map to host ports (TCP, like
	// Garden's NetIn), in order; a repeated port is mapped once.
	Ports []uint32
	// EgressRules are the RunRequest's security group rules: the only
	// traffic the container may start towards anything outside its bridge.
	EgressRules []*models.SecurityGroupRule
}

// Result is a container's network.
type Result struct {
	// NetNSPath is the network namespace the container must join
	// (containerd.ContainerSpec.NetNSPath).
	NetNSPath string
	// ContainerIP is the container's own address (the instance address,
	// CF_INSTANCE_INTERNAL_IP).
	ContainerIP string
	// HostIP is the cell's address the host ports are on (the reference's
	// external IP, CF_INSTANCE_IP).
	HostIP string
	// GatewayIP is the bridge's address, the container's default route.
	GatewayIP string
	// Ports maps each requested container port to its host port.
	Ports []PortMapping
	// ResolvConfPath and HostsPath are host files to bind-mount read-only
	// at /etc/resolv.conf and /etc/hosts.
	ResolvConfPath, HostsPath string
}

// Env returns the networking variables of every process of the container
// (InstanceEnv).
func (r *Result) Env() []string { return InstanceEnv(r.HostIP, r.ContainerIP, "", r.Ports) }

// record is what is kept on disk about a container's network, written
// before anything is created so that Cleanup can undo a crashed run.
type record struct {
	ID          string        `json:"id"`
	ContainerIP string        `json:"container_ip,omitempty"`
	Ports       []PortMapping `json:"ports"`
	// Installed: the container's rules went in (one iptables-restore, all
	// or nothing); Logged: with a LOG chain.
	Installed bool `json:"installed,omitempty"`
	Logged    bool `json:"logged,omitempty"`
}

func (r *record) hostPorts() []uint16 {
	if r == nil {
		return nil
	}
	out := make([]uint16, len(r.Ports))
	for i, p := range r.Ports {
		out[i] = p.HostPort
	}
	return out
}

// Manager gives containers their network on one cell. Setup and Teardown
// of different containers may run concurrently.
type Manager struct {
	cfg     Config
	logger  lager.Logger
	subnet  *net.IPNet
	cni     *libcni.CNIConfig
	netConf *libcni.NetworkConfigList
	fw      *firewall
	ports   *portPool

	netnsDir, recordsDir, filesDir, ipamDir, cacheDir string

	mu     sync.Mutex
	active map[string]*record

	// firstAdd serialises the CNI ADDs until one succeeded (warm).
	firstAdd sync.Mutex
	warm     atomic.Bool
}

// New checks cfg, finds the CNI plugins, creates the state directories and
// installs the cell's iptables chains. Call Cleanup next, before any Setup,
// to remove what a previous run left.
func New(ctx context.Context, cfg Config, logger lager.Logger) (*Manager, error) {
	cfg.setDefaults()
	subnet, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = lager.NewLogger("network")
	}
	for _, p := range requiredPlugins {
		if _, err := findPlugin(cfg.PluginDirs, p); err != nil {
			return nil, err
		}
	}
	m := &Manager{
		cfg:        cfg,
		logger:     logger.Session("network", lager.Data{"bridge": cfg.BridgeName}),
		subnet:     subnet,
		ports:      newPortPool(cfg.PortRangeStart, cfg.PortRangeEnd),
		netnsDir:   filepath.Join(cfg.StateDir, "netns"),
		recordsDir: filepath.Join(cfg.StateDir, "records"),
		filesDir:   filepath.Join(cfg.StateDir, "files"),
		ipamDir:    filepath.Join(cfg.StateDir, "ipam"),
		cacheDir:   filepath.Join(cfg.StateDir, "cni-cache"),
		active:     map[string]*record{},
	}
	for _, d := range []string{m.netnsDir, m.recordsDir, m.filesDir, m.ipamDir, m.cacheDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if m.netConf, err = m.networkConfig(); err != nil {
		return nil, err
	}
	// An explicit exec: libcni creates its default lazily, racing
	// concurrent calls.
	m.cni = libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, m.cacheDir, &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: os.Stderr},
		PluginDecoder: version.PluginDecoder{},
	})
	ipt, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv4), iptables.Timeout(iptablesWait))
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	m.fw = newFirewall(ipt, cfg.ChainPrefix, cfg.BridgeName, subnet.String(), cfg.HostIP)
	if err := m.fw.install(); err != nil {
		return nil, fmt.Errorf("installing the cell's iptables chains: %w", err)
	}
	return m, nil
}

func findPlugin(dirs []string, name string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: CNI plugin %q not found in %s (install containernetworking-plugins)", ErrUnavailable, name, strings.Join(dirs, ", "))
}

// networkConfig is the cell's CNI network: a bridge with host-local IPAM on
// the subnet and the bridge's address as default gateway. Masquerading and
// host ports are the firewall's (one chain per cell, one iptables-restore
// per container).
func (m *Manager) networkConfig() (*libcni.NetworkConfigList, error) {
	bridge := map[string]any{
		"type":             "bridge",
		"bridge":           m.cfg.BridgeName,
		"isGateway":        true,
		"isDefaultGateway": true,
		"ipMasq":           false, // one rule for the cell (firewall.installMasquerade)
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": m.subnet.String()}}},
			"dataDir": m.ipamDir,
		},
	}
	if m.cfg.MTU > 0 {
		bridge["mtu"] = m.cfg.MTU
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       m.cfg.networkName(),
		"plugins":    []any{bridge},
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(b)
}

func (m *Manager) netnsPath(id string) string  { return filepath.Join(m.netnsDir, id) }
func (m *Manager) recordPath(id string) string { return filepath.Join(m.recordsDir, id+".json") }

func (m *Manager) runtimeConf(id, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifName}
}

// Setup gives container id its network: a network namespace, an address on
// the cell's bridge, a host port for each container port, its egress
// chains, and its resolv.conf and hosts files. Create the container after
// it (joining Result.NetNSPath); on failure nothing is left.
func (m *Manager) Setup(ctx context.Context, id string, req SetupRequest) (_ *Result, err error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	containerPorts, err := uniquePorts(req.Ports)
	if err != nil {
		return nil, err
	}
	out, logChain := m.fw.chains(id)
	rules, err := egressRuleSpecs(req.EgressRules, logChain)
	if err != nil {
		return nil, err
	}
	logger := m.logger.Session("setup", lager.Data{"id": id})

	m.mu.Lock()
	if _, ok := m.active[id]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: network of container %s", ErrAlreadyExists, id)
	}
	hostPorts, err := m.ports.acquire(len(containerPorts))
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	rec := &record{ID: id, Ports: make([]PortMapping, len(containerPorts))}
	for i, cp := range containerPorts {
		rec.Ports[i] = PortMapping{ContainerPort: cp, HostPort: hostPorts[i]}
	}
	m.active[id] = rec
	m.mu.Unlock()
	nsPath := m.netnsPath(id)
	if _, err := os.Lstat(nsPath); err == nil {
		// Not ours to roll back: a previous run's, for Cleanup.
		m.mu.Lock()
		delete(m.active, id)
		m.mu.Unlock()
		m.ports.release(hostPorts)
		return nil, fmt.Errorf("%w: network namespace of %s (left by a previous run? call Cleanup)", ErrAlreadyExists, id)
	}

	defer func() {
		if err != nil {
			logger.Error("failed", err)
			if terr := m.Teardown(context.WithoutCancel(ctx), id); terr != nil {
				logger.Error("failed-to-roll-back", terr)
			}
		}
	}()
	if err := writeRecord(m.recordPath(id), rec); err != nil {
		return nil, err
	}
	if err := createNetNS(nsPath); err != nil {
		return nil, err
	}
	res, err := m.cniAdd(ctx, m.runtimeConf(id, nsPath))
	if err != nil {
		return nil, fmt.Errorf("CNI ADD of %s: %w", id, err)
	}
	ip, gw, err := containerAddress(res)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD of %s: %w", id, err)
	}
	rec = &record{ID: id, ContainerIP: ip, Ports: rec.Ports}
	m.mu.Lock()
	m.active[id] = rec
	m.mu.Unlock()
	if err := writeRecord(m.recordPath(id), rec); err != nil {
		return nil, err
	}
	if err := m.fw.addContainer(id, ip, rules, rec.Ports); err != nil {
		return nil, fmt.Errorf("installing egress chain %s and host ports: %w", out, err)
	}
	rec = &record{ID: id, ContainerIP: ip, Ports: rec.Ports, Installed: true, Logged: loggedRules(rules, logChain)}
	m.mu.Lock()
	m.active[id] = rec
	m.mu.Unlock()
	if err := writeRecord(m.recordPath(id), rec); err != nil {
		return nil, err
	}
	resolvPath, hostsPath, err := m.writeFiles(id, ip, gw)
	if err != nil {
		return nil, err
	}
	logger.Debug("done", lager.Data{"ip": ip, "ports": rec.Ports})
	return &Result{
		NetNSPath:      nsPath,
		ContainerIP:    ip,
		HostIP:         m.cfg.HostIP,
		GatewayIP:      gw,
		Ports:          slices.Clone(rec.Ports),
		ResolvConfPath: resolvPath,
		HostsPath:      hostsPath,
	}, nil
}

// cniAdd runs the CNI ADD. Until one has succeeded (and route_localnet is
// set on the bridge it made) they run one at a time:
// the first creates the bridge and the plugins' shared chains, and the
// plugins check-then-create those, so concurrent first calls would create
// duplicate jumps.
func (m *Manager) cniAdd(ctx context.Context, rt *libcni.RuntimeConf) (types.Result, error) {
	if !m.warm.Load() {
		m.firstAdd.Lock()
		defer m.firstAdd.Unlock()
	}
	res, err := m.cni.AddNetworkList(ctx, m.netConf, rt)
	if err == nil && !m.warm.Load() {
		// The first ADD made the bridge: host ports from 127.0.0.0/8 may
		// cross it from now on.
		if err := routeLocalnet(m.cfg.BridgeName); err != nil {
			return res, err
		}
		m.warm.Store(true)
	}
	return res, err
}

// uniquePorts checks container ports and drops repeats, keeping the order.
func uniquePorts(ports []uint32) ([]uint16, error) {
	seen := map[uint32]bool{}
	var out []uint16
	for _, p := range ports {
		if p == 0 || p > 65535 {
			return nil, fmt.Errorf("%w: container port %d is not in 1-65535", ErrInvalid, p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, uint16(p))
		}
	}
	return out, nil
}

// containerAddress returns the container's IPv4 address and gateway from a
// CNI result.
func containerAddress(res types.Result) (ip, gw string, err error) {
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		return "", "", err
	}
	for _, ipc := range cur.IPs {
		if ipc.Address.IP.To4() != nil {
			if ipc.Gateway != nil {
				gw = ipc.Gateway.String()
			}
			return ipc.Address.IP.String(), gw, nil
		}
	}
	return "", "", errors.New("the result has no IPv4 address")
}
