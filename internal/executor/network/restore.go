package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Host ports are DNAT rules of our own, written with the rest of a
// container's rules in one iptables-restore call. The CNI portmap plugin
// makes about 19 iptables calls per container, several of them full dumps
// of the nat table, all under the machine-wide xtables lock: filling a cell
// with 250 containers took three minutes. The rules are portmap's:
//
//	PREROUTING, OUTPUT ─(dst-type LOCAL)─► <p>-DN ─(comment id)─► <p>-N-<h>:
//	    -p tcp -d <host ip> --dport <hp> -s <subnet>      MARK 0x2000  (hairpin)
//	    -p tcp -d <host ip> --dport <hp> -s 127.0.0.0/8   MARK 0x2000  (localhost)
//	    -p tcp -d <host ip> --dport <hp>                  DNAT <ip>:<port>
//	POSTROUTING -o <bridge> -m mark 0x2000 MASQUERADE; route_localnet=1 on the bridge

// hostPortMark marks connections to host ports that need their source
// rewritten (portmap's value).
const hostPortMark = "0x2000/0x2000"

func (f *firewall) dnatChain() string { return f.prefix + "-DN" }

// hostPortChain is container id's nat chain.
func (f *firewall) hostPortChain(id string) string {
	out, _ := f.chains(id)
	return strings.Replace(out, "-O-", "-N-", 1)
}

var localDst = []string{"-m", "addrtype", "--dst-type", "LOCAL"}

// installHostPorts creates the cell's nat dispatch chain (keeping its
// container jumps on a restart) and the jumps to it.
func (f *firewall) installHostPorts() error {
	dn := f.dnatChain()
	if ok, err := f.ipt.ChainExists(tableNAT, dn); err != nil {
		return err
	} else if !ok {
		if err := f.ipt.NewChain(tableNAT, dn); err != nil {
			return err
		}
	}
	for _, chain := range []string{"PREROUTING", "OUTPUT"} {
		if err := f.ipt.InsertUnique(tableNAT, chain, 1, append(localDst, "-j", dn)...); err != nil {
			return err
		}
	}
	return f.ipt.AppendUnique(tableNAT, "POSTROUTING", f.markedMasquerade()...)
}

func (f *firewall) markedMasquerade() []string {
	return []string{"-o", f.bridge, "-m", "mark", "--mark", hostPortMark, "-j", "MASQUERADE"}
}

func (f *firewall) uninstallHostPorts() []error {
	var errs []error
	for _, chain := range []string{"PREROUTING", "OUTPUT"} {
		errs = append(errs, f.ipt.DeleteIfExists(tableNAT, chain, append(localDst, "-j", f.dnatChain())...))
	}
	errs = append(errs,
		f.ipt.DeleteIfExists(tableNAT, "POSTROUTING", f.markedMasquerade()...),
		f.ipt.ClearAndDeleteChain(tableNAT, f.dnatChain()))
	return errs
}

// hostPortRules are the rules of container id's nat chain.
func (f *firewall) hostPortRules(ip string, ports []PortMapping) [][]string {
	var rules [][]string
	for _, p := range ports {
		match := []string{"-p", "tcp", "-d", f.hostIP + "/32", "--dport", strconv.Itoa(int(p.HostPort))}
		for _, src := range []string{f.subnet, "127.0.0.0/8"} {
			rules = append(rules, append(append([]string{}, match...), "-s", src, "-j", "MARK", "--set-xmark", hostPortMark))
		}
		rules = append(rules, append(append([]string{}, match...), "-j", "DNAT", "--to-destination", fmt.Sprintf("%s:%d", ip, p.ContainerPort)))
	}
	return rules
}

func (f *firewall) dnatJump(id string) []string {
	return []string{"-d", f.hostIP + "/32", "-m", "comment", "--comment", id, "-j", f.hostPortChain(id)}
}

// restore applies a payload with iptables-restore --noflush: every change
// of it or none.
func (f *firewall) restore(payload []byte) error {
	cmd := exec.Command(f.restoreBin, "--noflush", "--wait", strconv.Itoa(iptablesWait))
	cmd.Stdin = bytes.NewReader(payload)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// restoreLine writes one rule (-A/-I/-D chain args...) with its arguments
// quoted where needed.
func restoreLine(b *bytes.Buffer, args ...string) {
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	b.WriteByte('\n')
}

// routeLocalnet lets DNATed connections from 127.0.0.0/8 leave through the
// bridge (the kernel drops them as martians otherwise).
func routeLocalnet(bridge string) error {
	return os.WriteFile(filepath.Join("/proc/sys/net/ipv4/conf", bridge, "route_localnet"), []byte("1\n"), 0o644)
}
