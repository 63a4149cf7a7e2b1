package network

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/diego-go/diego/internal/models"
)

// maxMultiport is how many ports one iptables multiport match takes.
const maxMultiport = 15

// egressRuleSpecs translates a RunRequest's egress rules into the iptables
// rule specifications of a container's egress chain, in order. A rule
// without log jumps to ACCEPT; a logged rule goes to logChain, which logs
// new connections and accepts.
//
// Each rule is validated as the reference executor does (an invalid rule
// fails the container). The translation follows the reference's
// conversion: every comma-separated destination is an IP, a CIDR or an
// `a-b` range; tcp/udp rules match a port range or each listed port;
// icmp rules match type/code, both cast to a byte (so -1 becomes 255, and
// type 255 is any type); "all" matches every protocol. The cell's network
// is IPv4 only: icmpv6 rules and IPv6 destinations allow nothing and are
// skipped.
func egressRuleSpecs(rules []*models.SecurityGroupRule, logChain string) ([][]string, error) {
	var specs [][]string
	for i, r := range rules {
		if r == nil {
			return nil, fmt.Errorf("%w: egress rule %d is empty", ErrInvalid, i)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w: egress rule %d: %w", ErrInvalid, i, err)
		}
		if r.GetProtocol() == "icmpv6" {
			continue
		}
		proto, err := protocolMatches(r)
		if err != nil {
			return nil, fmt.Errorf("%w: egress rule %d: %w", ErrInvalid, i, err)
		}
		target := []string{"-j", "ACCEPT"}
		if r.GetLog() {
			target = []string{"-g", logChain}
		}
		for _, d := range r.GetDestinations() {
			for _, part := range strings.Split(d, ",") {
				dst, v6, err := destinationMatch(part)
				if err != nil {
					return nil, fmt.Errorf("%w: egress rule %d: %w", ErrInvalid, i, err)
				}
				if v6 {
					continue
				}
				for _, p := range proto {
					spec := append(append(append([]string{}, p[:2]...), dst...), p[2:]...)
					specs = append(specs, append(spec, target...))
				}
			}
		}
	}
	return specs, nil
}

// protocolMatches returns the protocol part of a rule's specs, one per
// iptables rule needed: "-p <proto>" first, then the port or ICMP matches.
func protocolMatches(r *models.SecurityGroupRule) ([][]string, error) {
	proto := r.GetProtocol()
	base := []string{"-p", proto}
	switch proto {
	case "icmp":
		t, c := uint8(r.GetIcmpInfo().GetType()), uint8(r.GetIcmpInfo().GetCode())
		return [][]string{append(base, "--icmp-type", fmt.Sprintf("%d/%d", t, c))}, nil
	case "all":
		return [][]string{base}, nil
	}
	if pr := r.GetPortRange(); pr != nil {
		if pr.GetEnd() > 65535 {
			return nil, fmt.Errorf("port range %d-%d is beyond 65535", pr.GetStart(), pr.GetEnd())
		}
		ports := strconv.Itoa(int(pr.GetStart()))
		if pr.GetEnd() != pr.GetStart() {
			ports += ":" + strconv.Itoa(int(pr.GetEnd()))
		}
		return [][]string{append(base, "--dport", ports)}, nil
	}
	var out [][]string
	ports := r.GetPorts()
	for start := 0; start < len(ports); start += maxMultiport {
		chunk := ports[start:min(start+maxMultiport, len(ports))]
		list := make([]string, len(chunk))
		for i, p := range chunk {
			if p > 65535 {
				return nil, fmt.Errorf("port %d is beyond 65535", p)
			}
			list[i] = strconv.Itoa(int(p))
		}
		if len(list) == 1 {
			out = append(out, append(slices.Clone(base), "--dport", list[0]))
		} else {
			out = append(out, append(slices.Clone(base), "-m", "multiport", "--dports", strings.Join(list, ",")))
		}
	}
	return out, nil
}

// destinationMatch returns the iptables match of one destination: an IP, a
// CIDR or a range `a-b`, and whether it is IPv6.
func destinationMatch(d string) (match []string, v6 bool, err error) {
	n := strings.IndexAny(d, "-/")
	switch {
	case n == -1:
		ip := net.ParseIP(d)
		if ip == nil {
			return nil, false, fmt.Errorf("invalid destination %q", d)
		}
		if ip.To4() == nil {
			return nil, true, nil
		}
		return []string{"-d", ip.String()}, false, nil
	case d[n] == '/':
		_, ipn, err := net.ParseCIDR(d)
		if err != nil {
			return nil, false, fmt.Errorf("invalid destination %q", d)
		}
		if ipn.IP.To4() == nil {
			return nil, true, nil
		}
		return []string{"-d", ipn.String()}, false, nil
	default:
		first, last := net.ParseIP(d[:n]), net.ParseIP(d[n+1:])
		if first == nil || last == nil {
			return nil, false, fmt.Errorf("invalid destination %q", d)
		}
		f4, l4 := first.To4(), last.To4()
		switch {
		case f4 == nil && l4 == nil:
			return nil, true, nil
		case f4 == nil || l4 == nil:
			return nil, false, fmt.Errorf("destination %q mixes IPv4 and IPv6", d)
		case ipLess(l4, f4):
			return nil, false, fmt.Errorf("destination %q ends before it starts", d)
		}
		return []string{"-m", "iprange", "--dst-range", f4.String() + "-" + l4.String()}, false, nil
	}
}

func ipLess(a, b net.IP) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
