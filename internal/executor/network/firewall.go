package network

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

const (
	tableFilter = "filter"
	tableNAT    = "nat"
)

// LogRatePerSecond bounds the LOG lines of one logged rule (silk's default
// for accepted UDP packets, applied to every protocol).
const LogRatePerSecond = 100

// maxLogPrefix is the longest part of a container id in a LOG prefix
// (iptables allows 29 characters; Garden writes the handle's first 28 and
// a space).
const maxLogPrefix = 28

// firewall owns a cell's iptables chains (IPv4, filter table):
//
//	FORWARD ─► <p>-FWD   -o br ESTABLISHED,RELATED ACCEPT
//	                      -o br ctstate DNAT ACCEPT        (host ports)
//	                      -i br -o br ACCEPT               (same bridge)
//	                      -i br ─► <p>-EG   -s <ip>/32 ─goto► <p>-O-<h>
//	                                        REJECT           (unknown source)
//	INPUT   ─► -i br ─► <p>-IN  ESTABLISHED,RELATED ACCEPT, REJECT
//
//	<p>-O-<h>: ESTABLISHED,RELATED ACCEPT · INVALID tcp DROP · one rule per
//	           egress rule (ACCEPT, or goto <p>-L-<h> when logged) · REJECT
//	<p>-L-<h>: LOG new connections (rate-limited, prefix = id) · ACCEPT
//
// <h> is a hash of the container id.
type firewall struct {
	ipt    *iptables.IPTables
	prefix string
	bridge string
	subnet string
	hostIP string // the cell's address of the host ports
	// restoreBin is iptables-restore.
	restoreBin string
	// containerChain matches the per-container chains of this cell only,
	// hostPortChainRE their nat chains.
	containerChain  *regexp.Regexp
	hostPortChainRE *regexp.Regexp
}

func newFirewall(ipt *iptables.IPTables, prefix, bridge, subnet, hostIP string) *firewall {
	restoreBin := "iptables-restore"
	if p, err := exec.LookPath(restoreBin); err == nil {
		restoreBin = p
	}
	return &firewall{
		hostIP:          hostIP,
		restoreBin:      restoreBin,
		ipt:             ipt,
		prefix:          prefix,
		bridge:          bridge,
		subnet:          subnet,
		containerChain:  regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-[OL]-[0-9a-f]{12}$`),
		hostPortChainRE: regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-N-[0-9a-f]{12}$`),
	}
}

func (f *firewall) forwardChain() string { return f.prefix + "-FWD" }
func (f *firewall) egressChain() string  { return f.prefix + "-EG" }
func (f *firewall) inputChain() string   { return f.prefix + "-IN" }
func (f *firewall) masqChain() string    { return f.prefix + "-MASQ" }

// chains returns the egress and log chains of container id.
func (f *firewall) chains(id string) (out, log string) {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:6])
	return f.prefix + "-O-" + h, f.prefix + "-L-" + h
}

var rejectRule = []string{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"}

// install creates the cell's chains and the jumps to them; it may run again
// (a restart): the static chains are rewritten, the egress dispatch chain
// keeps its container jumps.
func (f *firewall) install() error {
	eg, fwd, in := f.egressChain(), f.forwardChain(), f.inputChain()
	if ok, err := f.ipt.ChainExists(tableFilter, eg); err != nil {
		return err
	} else if !ok {
		if err := f.ipt.NewChain(tableFilter, eg); err != nil {
			return err
		}
	}
	if err := f.ipt.AppendUnique(tableFilter, eg, rejectRule...); err != nil {
		return err
	}
	static := map[string][][]string{
		fwd: {
			{"-o", f.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
			{"-o", f.bridge, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"},
			{"-i", f.bridge, "-o", f.bridge, "-j", "ACCEPT"},
			{"-i", f.bridge, "-j", eg},
		},
		in: {
			{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
			rejectRule,
		},
	}
	for _, chain := range []string{fwd, in} {
		if err := f.ipt.ClearChain(tableFilter, chain); err != nil {
			return err
		}
		for _, rule := range static[chain] {
			if err := f.ipt.Append(tableFilter, chain, rule...); err != nil {
				return err
			}
		}
	}
	if err := f.ipt.InsertUnique(tableFilter, "FORWARD", 1, "-j", fwd); err != nil {
		return err
	}
	if err := f.ipt.InsertUnique(tableFilter, "INPUT", 1, "-i", f.bridge, "-j", in); err != nil {
		return err
	}
	if err := f.installMasquerade(); err != nil {
		return err
	}
	return f.installHostPorts()
}

// installMasquerade masquerades what the cell's containers send off their
// subnet (multicast excepted), with one chain for the whole cell: the
// bridge plugin's ipMasq would add a chain and three rules per container,
// each an iptables call under the machine-wide lock.
func (f *firewall) installMasquerade() error {
	masq := f.masqChain()
	if err := f.ipt.ClearChain(tableNAT, masq); err != nil {
		return err
	}
	for _, rule := range [][]string{
		{"-d", f.subnet, "-j", "RETURN"},
		{"-d", "224.0.0.0/4", "-j", "RETURN"},
		{"-j", "MASQUERADE"},
	} {
		if err := f.ipt.Append(tableNAT, masq, rule...); err != nil {
			return err
		}
	}
	return f.ipt.AppendUnique(tableNAT, "POSTROUTING", "-s", f.subnet, "-j", masq)
}

// uninstall removes everything install created (container chains must be
// gone already).
func (f *firewall) uninstall() error {
	var errs []error
	errs = append(errs,
		f.ipt.DeleteIfExists(tableFilter, "FORWARD", "-j", f.forwardChain()),
		f.ipt.DeleteIfExists(tableFilter, "INPUT", "-i", f.bridge, "-j", f.inputChain()))
	for _, chain := range []string{f.forwardChain(), f.inputChain(), f.egressChain()} {
		errs = append(errs, f.ipt.ClearAndDeleteChain(tableFilter, chain))
	}
	errs = append(errs, f.uninstallHostPorts()...)
	errs = append(errs,
		f.ipt.DeleteIfExists(tableNAT, "POSTROUTING", "-s", f.subnet, "-j", f.masqChain()),
		f.ipt.ClearAndDeleteChain(tableNAT, f.masqChain()))
	return errors.Join(errs...)
}

// addContainer installs the egress chains of container id at ip, sends
// its traffic there, and maps its host ports on hostIP, in one
// iptables-restore. rules are egressRuleSpecs' output.
func (f *firewall) addContainer(id, ip string, rules [][]string, ports []PortMapping) error {
	out, logChain := f.chains(id)
	var b bytes.Buffer
	b.WriteString("*filter\n")
	if loggedRules(rules, logChain) {
		prefix := id
		if len(prefix) > maxLogPrefix {
			prefix = prefix[:maxLogPrefix]
		}
		rate := strconv.Itoa(LogRatePerSecond)
		fmt.Fprintf(&b, ":%s - [0:0]\n", logChain)
		restoreLine(&b, "-A", logChain, "-m", "conntrack", "--ctstate", "INVALID,NEW,UNTRACKED",
			"-m", "limit", "--limit", rate+"/s", "--limit-burst", rate,
			"-j", "LOG", "--log-prefix", prefix+" ")
		restoreLine(&b, "-A", logChain, "-j", "ACCEPT")
	}
	fmt.Fprintf(&b, ":%s - [0:0]\n", out)
	chain := [][]string{
		{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
		{"-p", "tcp", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"},
	}
	chain = append(append(chain, rules...), rejectRule)
	for _, r := range chain {
		restoreLine(&b, append([]string{"-A", out}, r...)...)
	}
	restoreLine(&b, "-I", f.egressChain(), "1", "-s", ip+"/32", "-g", out)
	b.WriteString("COMMIT\n")
	if len(ports) > 0 {
		hp := f.hostPortChain(id)
		fmt.Fprintf(&b, "*nat\n:%s - [0:0]\n", hp)
		for _, r := range f.hostPortRules(ip, ports) {
			restoreLine(&b, append([]string{"-A", hp}, r...)...)
		}
		restoreLine(&b, append([]string{"-A", f.dnatChain()}, f.dnatJump(id)...)...)
		b.WriteString("COMMIT\n")
	}
	return f.restore(b.Bytes())
}

func loggedRules(rules [][]string, logChain string) bool {
	for _, r := range rules {
		if r[len(r)-1] == logChain {
			return true
		}
	}
	return false
}

// removeContainer removes the chains of container id and every jump to
// them; rec (nil if unknown) says what was installed, so that one
// iptables-restore does it. Missing chains are fine: without a record, or
// when that fails (a half-installed container), rule by rule.
func (f *firewall) removeContainer(id string, rec *record) error {
	out, logChain := f.chains(id)
	if rec != nil && rec.ContainerIP != "" && rec.Installed {
		var b bytes.Buffer
		b.WriteString("*filter\n")
		restoreLine(&b, "-D", f.egressChain(), "-s", rec.ContainerIP+"/32", "-g", out)
		fmt.Fprintf(&b, "-F %s\n-X %s\n", out, out)
		if rec.Logged {
			fmt.Fprintf(&b, "-F %s\n-X %s\n", logChain, logChain)
		}
		b.WriteString("COMMIT\n")
		if len(rec.Ports) > 0 {
			hp := f.hostPortChain(id)
			b.WriteString("*nat\n")
			restoreLine(&b, append([]string{"-D", f.dnatChain()}, f.dnatJump(id)...)...)
			fmt.Fprintf(&b, "-F %s\n-X %s\n", hp, hp)
			b.WriteString("COMMIT\n")
		}
		if f.restore(b.Bytes()) == nil {
			return nil
		}
	}
	if err := f.deleteJumps(tableFilter, f.egressChain(), out); err != nil {
		return err
	}
	if err := f.ipt.ClearAndDeleteChain(tableFilter, out); err != nil {
		return err
	}
	if err := f.ipt.ClearAndDeleteChain(tableFilter, logChain); err != nil {
		return err
	}
	hp := f.hostPortChain(id)
	if err := f.deleteJumps(tableNAT, f.dnatChain(), hp); err != nil {
		return err
	}
	return f.ipt.ClearAndDeleteChain(tableNAT, hp)
}

// deleteJumps deletes the rules of chain whose target is target.
func (f *firewall) deleteJumps(table, chain, target string) error {
	return f.deleteRules(table, chain, func(args []string) bool {
		n := len(args)
		return n >= 2 && (args[n-2] == "-g" || args[n-2] == "-j") && args[n-1] == target
	})
}

// deleteRules deletes the rules of chain for which match is true; match
// gets the rule's arguments (iptables -S without "-A <chain>"). A missing
// chain has nothing to delete.
func (f *firewall) deleteRules(table, chain string, match func(args []string) bool) error {
	if ok, err := f.ipt.ChainExists(table, chain); err != nil || !ok {
		return err
	}
	lines, err := f.ipt.List(table, chain)
	if err != nil {
		return err
	}
	for _, line := range lines {
		args := splitRule(line)
		if len(args) < 2 || args[0] != "-A" || !match(args[2:]) {
			continue
		}
		if err := f.ipt.DeleteIfExists(table, chain, args[2:]...); err != nil {
			return fmt.Errorf("deleting %q: %w", line, err)
		}
	}
	return nil
}

// sweepContainers removes every container chain of this cell and their
// jumps (Cleanup).
func (f *firewall) sweepContainers() error {
	eg := f.egressChain()
	if err := f.ipt.ClearChain(tableFilter, eg); err != nil {
		return err
	}
	if err := f.ipt.Append(tableFilter, eg, rejectRule...); err != nil {
		return err
	}
	chains, err := f.containerChains()
	if err != nil {
		return err
	}
	// Flush all first: egress chains refer to log chains.
	for _, c := range chains {
		if err := f.ipt.ClearChain(tableFilter, c); err != nil {
			return err
		}
	}
	for _, c := range chains {
		if err := f.ipt.DeleteChain(tableFilter, c); err != nil {
			return err
		}
	}
	if err := f.ipt.ClearChain(tableNAT, f.dnatChain()); err != nil {
		return err
	}
	nat, err := f.hostPortChains()
	if err != nil {
		return err
	}
	for _, c := range nat {
		if err := f.ipt.ClearAndDeleteChain(tableNAT, c); err != nil {
			return err
		}
	}
	return nil
}

// hostPortChains lists this cell's per-container nat chains.
func (f *firewall) hostPortChains() ([]string, error) {
	all, err := f.ipt.ListChains(tableNAT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range all {
		if f.hostPortChainRE.MatchString(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// containerChains lists this cell's per-container chains.
func (f *firewall) containerChains() ([]string, error) {
	all, err := f.ipt.ListChains(tableFilter)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range all {
		if f.containerChain.MatchString(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// sweepPluginRules removes the nat rules and chains the bridge (ipMasq) and
// portmap plugins left for network: the rules carry a comment naming it.
// This package no longer has the plugins write nat rules; Cleanup sweeps
// those of a run that did (before the upgrade).
func (f *firewall) sweepPluginRules(network string) error {
	want := fmt.Sprintf(`name: "%s"`, network)
	var targets []string
	for _, chain := range []string{"POSTROUTING", "CNI-HOSTPORT-DNAT"} {
		err := f.deleteRules(tableNAT, chain, func(args []string) bool {
			comment, target := "", ""
			for i := 0; i+1 < len(args); i++ {
				switch args[i] {
				case "--comment":
					comment = args[i+1]
				case "-j", "-g":
					target = args[i+1]
				}
			}
			// "name: ..." is the bridge's comment, "dnat name: ..." portmap's.
			ok := strings.HasPrefix(strings.TrimPrefix(comment, "dnat "), want)
			if ok && strings.HasPrefix(target, "CNI-") && !strings.HasPrefix(target, "CNI-HOSTPORT-") {
				targets = append(targets, target)
			}
			return ok
		})
		if err != nil {
			return err
		}
	}
	for _, t := range targets {
		if err := f.ipt.ClearAndDeleteChain(tableNAT, t); err != nil {
			return err
		}
	}
	return nil
}

// splitRule splits a line of `iptables -S` into arguments: words separated
// by spaces, double quotes grouping (with \" and \\ escapes inside).
func splitRule(line string) []string {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		inQuote bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote, inWord = !inQuote, true
		case c == ' ' && !inQuote:
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args
}
