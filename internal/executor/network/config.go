package network

import (
	"errors"
	"fmt"
	"net"
	"regexp"

	"github.com/containerd/errdefs"
)

// Errors of this package, matched with errors.Is. They alias the kinds the
// container backend uses (containerd's errdefs).
var (
	ErrInvalid       = errdefs.ErrInvalidArgument
	ErrAlreadyExists = errdefs.ErrAlreadyExists
	// ErrUnavailable means something the network needs is missing on the
	// cell (a CNI plugin).
	ErrUnavailable = errdefs.ErrUnavailable
	// ErrPortsExhausted means the cell's host-port range has no room left.
	ErrPortsExhausted = errors.New("host ports exhausted")
)

// Defaults of Config.
const (
	// DefaultHostIP keeps host ports on loopback: nothing is exposed on the
	// machine's interfaces unless configured.
	DefaultHostIP = "127.0.0.1"
	// DefaultPortRangeStart and DefaultPortRangeEnd are Garden's port pool
	// (start 60000, size 5000).
	DefaultPortRangeStart = 60000
	DefaultPortRangeEnd   = 64999
	DefaultChainPrefix    = "diego"
	DefaultResolvConf     = "/etc/resolv.conf"
)

// DefaultPluginDirs are where Debian's containernetworking-plugins and the
// upstream release install the CNI plugins.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// maxChainPrefix keeps every chain name of this package within iptables'
// 28 characters: <prefix>-O-<12 hex digits>.
const maxChainPrefix = 13

var (
	chainPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// idPattern is what CNI accepts as a container id (and a safe file name).
	idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)
)

// maxIDLength bounds container ids (they name files and log prefixes).
const maxIDLength = 200

// Config is one cell's network. Several cells on one machine need distinct
// BridgeName, Subnet, ChainPrefix and StateDir, and distinct port ranges
// when they share a HostIP.
type Config struct {
	// BridgeName is the Linux bridge the containers are attached to
	// (created by the bridge plugin; at most 15 characters). Required.
	BridgeName string
	// Subnet is the IPv4 CIDR the containers' addresses come from; the
	// first address is the bridge's (the containers' gateway). Required.
	Subnet string
	// HostIP is the cell's address on which container ports are mapped to
	// host ports (CF_INSTANCE_IP). A loopback address (127.0.0.1,
	// 127.0.0.2, ...) keeps them reachable from this machine only
	// (DefaultHostIP).
	HostIP string
	// PortRangeStart and PortRangeEnd bound the host ports (inclusive;
	// DefaultPortRangeStart-DefaultPortRangeEnd when both are 0).
	PortRangeStart, PortRangeEnd uint16
	// PluginDirs are searched for the CNI plugins bridge and host-local
	// (DefaultPluginDirs).
	PluginDirs []string
	// StateDir holds the network namespaces, the per-container records and
	// files, the IPAM allocations and the CNI cache. Required.
	StateDir string
	// ChainPrefix starts the name of every iptables chain of this cell
	// (letters, digits and '_', at most 13 characters; DefaultChainPrefix).
	ChainPrefix string
	// ResolvConf is the cell's resolv.conf the containers' are derived from
	// (DefaultResolvConf).
	ResolvConf string
	// MTU of the bridge and the containers' interfaces; 0 = the plugin's
	// default.
	MTU int
}

// networkName is the CNI network name of a cell: it keys the IPAM
// directory, the CNI cache and the plugins' iptables comments.
func (c *Config) networkName() string { return "diego-" + c.BridgeName }

func (c *Config) setDefaults() {
	if c.HostIP == "" {
		c.HostIP = DefaultHostIP
	}
	if c.PortRangeStart == 0 && c.PortRangeEnd == 0 {
		c.PortRangeStart, c.PortRangeEnd = DefaultPortRangeStart, DefaultPortRangeEnd
	}
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs
	}
	if c.ChainPrefix == "" {
		c.ChainPrefix = DefaultChainPrefix
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
}

// validate checks c (defaults set) and returns the subnet.
func (c *Config) validate() (*net.IPNet, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: network config: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if c.BridgeName == "" || len(c.BridgeName) > 15 || !idPattern.MatchString(c.BridgeName) {
		return nil, invalid("bridge name %q must be 1-15 letters, digits, '_', '.' or '-'", c.BridgeName)
	}
	ip, subnet, err := net.ParseCIDR(c.Subnet)
	if err != nil || ip.To4() == nil {
		return nil, invalid("subnet %q is not an IPv4 CIDR", c.Subnet)
	}
	if ones, _ := subnet.Mask.Size(); ones > 30 {
		return nil, invalid("subnet %q is too small (at most /30)", c.Subnet)
	}
	if hip := net.ParseIP(c.HostIP); hip == nil || hip.To4() == nil {
		return nil, invalid("host IP %q is not an IPv4 address", c.HostIP)
	}
	if c.PortRangeStart == 0 || c.PortRangeEnd < c.PortRangeStart {
		return nil, invalid("host port range %d-%d is empty or starts at 0", c.PortRangeStart, c.PortRangeEnd)
	}
	if c.StateDir == "" {
		return nil, invalid("state dir is required")
	}
	if len(c.ChainPrefix) > maxChainPrefix || !chainPrefixPattern.MatchString(c.ChainPrefix) {
		return nil, invalid("chain prefix %q must be 1-%d letters, digits or '_'", c.ChainPrefix, maxChainPrefix)
	}
	if c.MTU < 0 || (c.MTU > 0 && c.MTU < 576) || c.MTU > 65535 {
		return nil, invalid("MTU %d is out of range (576-65535, or 0)", c.MTU)
	}
	return subnet, nil
}

// validID checks a container id before it names files and chains.
func validID(id string) error {
	if len(id) > maxIDLength || !idPattern.MatchString(id) {
		return fmt.Errorf("%w: container id %q must be 1-%d letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalid, id, maxIDLength)
	}
	return nil
}
