package network

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
)

// Leftovers lists what of container networks this cell still holds:
// namespaces, records and files, veths on the bridge, egress chains, IPAM
// allocations and host ports. After every container was torn down it is
// empty; operators and tests use it to check that nothing leaked.
func (m *Manager) Leftovers() ([]string, error) {
	var out []string
	for _, dir := range []string{m.netnsDir, m.recordsDir, m.filesDir} {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range entries {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if br, err := netlink.LinkByName(m.cfg.BridgeName); err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				out = append(out, "veth "+l.Attrs().Name)
			}
		}
	}
	chains, err := m.fw.containerChains()
	if err != nil {
		return nil, err
	}
	nat, err := m.fw.hostPortChains()
	if err != nil {
		return nil, err
	}
	for _, c := range append(chains, nat...) {
		out = append(out, "chain "+c)
	}
	ipam, err := os.ReadDir(filepath.Join(m.ipamDir, m.cfg.networkName()))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range ipam {
		if net.ParseIP(e.Name()) != nil {
			out = append(out, "address "+e.Name())
		}
	}
	if n := m.ports.inUse(); n != 0 {
		out = append(out, fmt.Sprintf("%d host ports", n))
	}
	return out, nil
}
