// Package nettest helps tests that give containers CNI networks on this
// machine: unique subnets and names, the checks that the machine can, and
// a TestMain that puts back what the CNI bridge plugin changes
// machine-wide.
package nettest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
)

// EnvRequire set to 1 turns missing root, CNI plugins or iptables into a
// failure (the same switch as containerdtest's).
const EnvRequire = "DIEGO_TEST_REQUIRE_CONTAINERD"

// BridgePrefix starts the name of every test bridge (and chain prefix).
const BridgePrefix = "dgt"

const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// Plugins are the CNI plugins a cell uses.
var Plugins = []string{"bridge", "host-local"}

// RequireHostNetworking skips t (or fails it under EnvRequire=1) unless it
// runs as root with the CNI plugins (in pluginDirs), iptables, nsenter and
// busybox.
func RequireHostNetworking(t testing.TB, pluginDirs []string) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "network tests need root"
	} else {
		for _, p := range Plugins {
			found := false
			for _, dir := range pluginDirs {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					found = true
				}
			}
			if !found {
				why = fmt.Sprintf("CNI plugin %s not found in %v", p, pluginDirs)
			}
		}
		for _, bin := range []string{"iptables", "nsenter", "busybox"} {
			if _, err := exec.LookPath(bin); err != nil {
				why = bin + " is not installed (run scripts/install-deps.sh test)"
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("network: required (%s=1) but %s", EnvRequire, why)
	}
	t.Skipf("network: skipping: %s", why)
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RandomInt returns a random int in [0, n).
func RandomInt(n int64) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return int(v.Int64())
}

var (
	subnetsMu sync.Mutex
	subnets   = map[string]bool{}
)

// FreeSubnet picks a random 10.x.y.0/24 that no route or address of this
// machine (nor another test of this process) overlaps.
func FreeSubnet(t testing.TB) *net.IPNet {
	t.Helper()
	n, err := PickSubnet()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// PickSubnet is FreeSubnet outside a test.
func PickSubnet() (*net.IPNet, error) {
	subnetsMu.Lock()
	defer subnetsMu.Unlock()
	for range 100 {
		_, cand, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", 100+RandomInt(100), RandomInt(256)))
		if subnets[cand.String()] {
			continue
		}
		overlaps, err := overlapsHost(cand)
		if err != nil {
			return nil, err
		}
		if !overlaps {
			subnets[cand.String()] = true
			return cand, nil
		}
	}
	return nil, errors.New("no free 10.x.y.0/24 subnet")
}

func overlapsHost(n *net.IPNet) (bool, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false, err
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones > 0 && (r.Dst.Contains(n.IP) || n.Contains(r.Dst.IP)) {
			return true, nil
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if n.Contains(a.IP) {
			return true, nil
		}
	}
	return false, nil
}

// Main runs the tests and then puts back what the CNI bridge plugin
// changes machine-wide and never undoes: it turns on IPv4 forwarding, which
// is turned off again only if it was off before and no test bridge is left.
// It returns the tests' exit code.
func Main(m *testing.M) int {
	forward, _ := os.ReadFile(ipForwardPath)
	code := m.Run()
	if os.Geteuid() == 0 && strings.TrimSpace(string(forward)) == "0" && !bridgesLeft() {
		if err := os.WriteFile(ipForwardPath, []byte("0\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "restoring ip_forward:", err)
		}
	}
	return code
}

// bridgesLeft reports whether a test bridge of another run still exists
// (a concurrent run of these tests needs forwarding).
func bridgesLeft() bool {
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Type() == "bridge" && strings.HasPrefix(l.Attrs().Name, BridgePrefix) {
			return true
		}
	}
	return false
}
