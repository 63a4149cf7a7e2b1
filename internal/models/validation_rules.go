package models

import (
	"net"
	"strings"
)

// Validation of egress rules, health checks and sidecars.

const msgInvalidIP = "Invalid IP"

// Validate checks the protocol-specific fields and the destinations.
//
// Note the reference's nil tests: Ports set to an empty non-nil list counts
// as "given" (only possible from Go or JSON, never from the wire).
func (x *SecurityGroupRule) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *SecurityGroupRule) appendProblems(p *problemList) {
	hasRange, hasPorts, hasICMP := x.GetPortRange() != nil, x.GetPorts() != nil, x.GetIcmpInfo() != nil
	switch x.GetProtocol() {
	case "tcp", "udp":
		x.appendPortProblems(p)
		if hasICMP {
			p.invalid("icmp_info")
		}
	case "icmp", "icmpv6", "all":
		if hasRange {
			p.invalid("port_range")
		}
		if hasPorts {
			p.invalid("ports")
		}
		switch {
		case x.GetProtocol() == "icmp" && !hasICMP:
			p.invalid("icmp_info")
		case x.GetProtocol() == "icmpv6" && !hasICMP:
			p.invalid("icmpv6_info")
		case x.GetProtocol() == "all" && hasICMP:
			p.invalid("icmp_info")
		}
	default:
		p.invalid("protocol")
	}
	if msgs := destinationProblems(x.GetDestinations()); len(msgs) > 0 {
		p.invalid("destinations [ " + strings.Join(msgs, ", ") + " ]")
	}
}

// appendPortProblems checks the ports of a tcp or udp rule: exactly one of
// ports and port_range, none of them 0, and an ordered range.
func (x *SecurityGroupRule) appendPortProblems(p *problemList) {
	pr, ports := x.GetPortRange(), x.GetPorts()
	switch {
	case pr == nil && ports == nil:
		p.add("Missing required field: ports or port_range")
		return
	case pr != nil && ports != nil:
		p.add("Invalid: ports and port_range provided")
		return
	}
	if pr != nil {
		if pr.GetStart() < 1 {
			p.invalid("port_range")
		}
		if pr.GetEnd() < 1 {
			p.invalid("port_range")
		}
		if pr.GetStart() > pr.GetEnd() {
			p.invalid("port_range")
		}
	}
	if ports != nil {
		if len(ports) == 0 {
			p.invalid("ports")
		}
		for _, port := range ports {
			if port < 1 {
				p.invalid("ports")
			}
		}
	}
}

// destinationProblems checks every comma-separated destination: an IP, a
// CIDR, or an ascending range "a-b" of IPs. It returns the messages that go
// between the brackets.
func destinationProblems(destinations []string) []string {
	if len(destinations) == 0 {
		return []string{"Must have at least 1 destination"}
	}
	var msgs []string
	for _, d := range destinations {
		for _, part := range strings.Split(d, ",") {
			msgs = appendDestinationProblems(msgs, part)
		}
	}
	return msgs
}

func appendDestinationProblems(msgs []string, d string) []string {
	n := strings.IndexAny(d, "-/")
	switch {
	case n == -1:
		if net.ParseIP(d) == nil {
			msgs = append(msgs, msgInvalidIP)
		}
	case d[n] == '/':
		if _, _, err := net.ParseCIDR(d); err != nil {
			msgs = append(msgs, err.Error())
		}
	default:
		first, last := net.ParseIP(d[:n]), net.ParseIP(d[n+1:])
		if first == nil || last == nil {
			return append(msgs, msgInvalidIP)
		}
		// The reference compares byte by byte up to the first byte where
		// the start is smaller, and reports every larger byte before it.
		for i := range first {
			if i >= len(last) || first[i] < last[i] {
				break
			}
			if first[i] > last[i] {
				msgs = append(msgs, msgInvalidIP)
			}
		}
	}
	return msgs
}

// Validate checks every liveness and readiness check.
func (x *CheckDefinition) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *CheckDefinition) appendProblems(p *problemList) {
	for _, c := range x.GetChecks() {
		c.appendProblems(p)
	}
	for _, c := range x.GetReadinessChecks() {
		c.appendProblems(p)
	}
}

// Validate requires exactly one of tcp and http, on a port in 1..65535. A
// check with neither reads as a tcp check on port 0, so it is reported as
// "port", as the reference does.
func (x *Check) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *Check) appendProblems(p *problemList) {
	var port uint32
	switch {
	case x.GetHttpCheck() != nil && x.GetTcpCheck() != nil:
		p.invalid("check")
		return
	case x.GetHttpCheck() != nil:
		port = x.GetHttpCheck().GetPort()
	default:
		port = x.GetTcpCheck().GetPort()
	}
	if port == 0 || port > 65535 {
		p.invalid("port")
	}
}

// Validate requires an action and non-negative resources.
func (x *Sidecar) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *Sidecar) appendProblems(p *problemList) {
	appendRequiredActionProblems(p, x.GetAction())
	if x.GetMemoryMb() < 0 {
		p.invalid("memory_mb")
	}
	if x.GetDiskMb() < 0 {
		p.invalid("disk_mb")
	}
}

// appendSidecarProblems reports "sidecars" once, followed by the problems
// of every sidecar.
func appendSidecarProblems(p *problemList, sidecars []*Sidecar) {
	p.section("sidecars", func(sub *problemList) {
		for _, s := range sidecars {
			s.appendProblems(sub)
		}
	})
}
