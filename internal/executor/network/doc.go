// Package network gives the executor's containers their network on a cell:
// Garden's kawasaki networker (reference §4.9, §5) rebuilt on the CNI
// plugins (bridge, host-local) and iptables.
//
//	m, err := network.New(ctx, network.Config{BridgeName: "diego0", Subnet: "10.254.0.0/22",
//		HostIP: "127.0.0.2", StateDir: dir}, logger)
//	err = m.Cleanup(ctx)                        // at start: a previous run's leftovers
//	res, err := m.Setup(ctx, guid, network.SetupRequest{Ports: ports, EgressRules: rules})
//	// create the container with NetNSPath, ResolvConfPath, HostsPath = res's; env += res.Env()
//	err = m.Teardown(ctx, guid)                 // after the container is deleted
//
// # What a container gets
//
// Setup creates a network namespace (a bind mount of a fresh namespace on
// <StateDir>/netns/<id>, which the container joins) and runs CNI ADD on the
// cell's network: a veth to the cell's bridge, an address from the cell's
// subnet (host-local IPAM, allocations under <StateDir>/ipam), the bridge's
// address as default gateway; what it sends off the subnet is masqueraded
// by one cell-wide chain (<prefix>-MASQ, not the bridge plugin's ipMasq,
// which costs a chain per container). The instance address is the container's own
// (Result.ContainerIP, CF_INSTANCE_INTERNAL_IP).
//
// Each container port gets a host port from the cell's range, first-in
// first-out like Garden's pool, mapped on the cell's HostIP only (TCP, like
// Garden's NetIn; the host address is CF_INSTANCE_IP) by DNAT rules with
// the portmap plugin's semantics, written by us (restore.go) together with
// the egress chains in one iptables-restore per container: portmap itself
// made ~19 iptables calls per container, several of them full nat dumps,
// under the machine-wide xtables lock. With a loopback HostIP (127.0.0.1,
// 127.0.0.2, ...) the ports are reachable from this machine only: locally
// originated traffic to that address is DNATed too, connections from
// 127.0.0.0/8 (and hairpin ones from the subnet) are marked for
// masquerading, and route_localnet is set on the bridge so they can cross
// it. Nothing is ever mapped
// on the machine's external interfaces unless HostIP is one of their
// addresses.
//
// ResolvConf and HostsFile derive /etc/resolv.conf and /etc/hosts the way
// Garden does; Setup writes them under <StateDir>/files/<id> for the
// container backend to bind-mount read-only. InstanceEnv and IdentityEnv
// are the reference's CF_INSTANCE_* and INSTANCE_* variables.
//
// # Egress rules (security groups)
//
// Enforced with iptables (IPv4, filter table) in chains named from the
// cell's ChainPrefix, so cells on one machine never share one:
//
//   - Traffic a container starts towards anything routed off the bridge
//     (FORWARD, in on the bridge) is rejected (icmp-port-unreachable)
//     unless an egress rule allows it. Nothing is allowed by default: not
//     DNS, not the metadata service; the platform's security groups must
//     allow them, as on the reference's cells (silk's netout chain).
//   - Replies (ESTABLISHED, RELATED) are always allowed, both ways; invalid
//     TCP packets are dropped.
//   - Each rule allows its protocol (tcp, udp, icmp, all) to each of its
//     destinations (IP, CIDR, a-b range via the iprange match) and ports
//     (ports via multiport, or a port range) or ICMP type/code (both cast
//     to a byte like the reference: -1 becomes 255, type 255 = any).
//     icmpv6 rules and IPv6 destinations allow nothing: the network is
//     IPv4 only. Rules are validated first (models.SecurityGroupRule's
//     Validate, plus ports ≤ 65535); a bad rule fails Setup.
//   - A rule with log goes through a log chain that logs new connections
//     (ctstate NEW, INVALID, UNTRACKED) at most LogRatePerSecond a second
//     with the container id (first 28 characters, Garden's prefix) as
//     prefix, then accepts.
//   - Containers cannot reach the host itself (INPUT from the bridge:
//     replies only, otherwise rejected), like Garden without host access.
//   - Traffic between containers on the same bridge is not filtered (it is
//     bridged, not routed; Garden allows its subnet likewise).
//   - Connections to containers through their host ports (DNAT) and replies
//     to them pass; other inbound traffic is left to the host's policy.
//
// # Cleanup
//
// Teardown is idempotent: egress chains, CNI DEL (veth, address, masquerade
// and port-mapping rules), namespace, files, host ports. Cleanup finds a
// previous run's containers from the namespaces and records in StateDir,
// tears each down, then removes every per-container chain of the prefix,
// plugin rules commented with the network's name, the IPAM allocations and
// the CNI cache. Destroy also removes the cell's chains and the bridge.
//
// The bridge plugin turns on net.ipv4.ip_forward (needed to route the
// containers' traffic), as Garden's setup does; nothing turns it off.
// Plugins run with the process's PATH, which must hold iptables.
package network
