package network

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// TestMain puts back what the CNI plugins change machine-wide and never
// undo: the bridge plugin turns on IPv4 forwarding, and portmap creates
// its shared CNI-HOSTPORT-* chains and the jumps to them. Both are restored
// only if they were not there before and nothing uses them any more.
func TestMain(m *testing.M) {
	forward, _ := os.ReadFile(ipForwardPath)
	hadPortmapChains := os.Geteuid() == 0 && exec.Command("iptables", "-w", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").Run() == nil
	code := m.Run()
	if os.Geteuid() == 0 {
		if strings.TrimSpace(string(forward)) == "0" && !bridgesLeft() {
			if err := os.WriteFile(ipForwardPath, []byte("0\n"), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "restoring ip_forward:", err)
			}
		}
		if !hadPortmapChains {
			removePortmapChains()
		}
	}
	os.Exit(code)
}

// bridgesLeft reports whether a test bridge of another run still exists
// (a concurrent run of these tests needs forwarding).
func bridgesLeft() bool {
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Type() == "bridge" && strings.HasPrefix(l.Attrs().Name, "dgt") {
			return true
		}
	}
	return false
}

// removePortmapChains removes portmap's top-level chains if no mapping is
// left in them.
func removePortmapChains() {
	ipt := func(args ...string) (string, error) {
		out, err := exec.Command("iptables", append([]string{"-w", "-t", "nat"}, args...)...).CombinedOutput()
		return string(out), err
	}
	rules, err := ipt("-S", "CNI-HOSTPORT-DNAT")
	if err != nil || strings.Contains(rules, "-A CNI-HOSTPORT-DNAT") {
		return
	}
	for _, jump := range [][]string{
		{"PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"},
		{"OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"},
		{"POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"},
	} {
		// Concurrent first ADDs (of other processes) may have doubled it.
		for i := 0; i < 100; i++ {
			if _, err := ipt(append([]string{"-D"}, jump...)...); err != nil {
				break
			}
		}
	}
	for _, chain := range []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
		_, _ = ipt("-F", chain)
		_, _ = ipt("-X", chain)
	}
}
