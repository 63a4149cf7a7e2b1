package network

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/diego-go/diego/internal/models"
)

func tcpRule(dest string, ports ...uint32) *models.SecurityGroupRule {
	return &models.SecurityGroupRule{Protocol: "tcp", Destinations: []string{dest}, Ports: ports}
}

func TestHostPortsAndEgressRules(t *testing.T) {
	requireHostNetworking(t)
	m := newCell(t, cellConfig(t, "127.0.0.2"))
	d := newDestination(t)
	a2, a3, a4, a5 := d.addrs[0], d.addrs[1], d.addrs[2], d.addrs[3]
	ctx := testCtx(t)

	logged := tcpRule(a2, 8080)
	logged.Log = true
	rules := []*models.SecurityGroupRule{
		logged,                   // one IP, one port, logged
		tcpRule(a3+"-"+a4, 9090), // a range
		{Protocol: "icmp", Destinations: []string{a4 + "/32"}, IcmpInfo: &models.ICMPInfo{Type: 8, Code: 0}}, // a CIDR
		{Protocol: "all", Destinations: []string{a5}},
		{Protocol: "icmpv6", Destinations: []string{"::/0"}, IcmpInfo: &models.ICMPInfo{Type: 128}}, // ignored
	}
	allowed, err := m.Setup(ctx, "allowed", SetupRequest{Ports: []uint32{8080, 8080, 2222}, EgressRules: rules})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	denied, err := m.Setup(ctx, "denied", SetupRequest{Ports: []uint32{8080}})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}

	if !m.subnet.Contains(net.ParseIP(allowed.ContainerIP)) || allowed.HostIP != "127.0.0.2" {
		t.Errorf("addresses = %s on %s, want one of %s on 127.0.0.2", allowed.ContainerIP, allowed.HostIP, m.subnet)
	}
	if len(allowed.Ports) != 2 || allowed.Ports[0].ContainerPort != 8080 || allowed.Ports[1].ContainerPort != 2222 {
		t.Fatalf("ports = %+v, want 8080 and 2222 once each", allowed.Ports)
	}

	// Host ports: the host reaches each container's own port on the cell's
	// loopback address, whatever the egress rules.
	for name, r := range map[string]*Result{"allowed": allowed, "denied": denied} {
		serveGreeting(t, r.NetNSPath, ":8080", name)
		got, err := dialFrom("", fmt.Sprintf("127.0.0.2:%d", r.Ports[0].HostPort))
		want := fmt.Sprintf("%s %s:8080", name, r.ContainerIP)
		if err != nil || got != want {
			t.Errorf("host port of %s: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := dialFrom("", fmt.Sprintf("127.0.0.1:%d", allowed.Ports[0].HostPort)); err == nil {
		t.Errorf("host port answers on 127.0.0.1, want only the cell's 127.0.0.2")
	}

	tcp := []struct {
		from *Result
		addr string
		ok   bool
	}{
		{allowed, a2 + ":8080", true},
		{allowed, a2 + ":9090", false}, // port not allowed
		{allowed, a3 + ":9090", true},  // range
		{allowed, a4 + ":9090", true},
		{allowed, a3 + ":8080", false},
		{allowed, a5 + ":8080", true}, // all
		{allowed, a5 + ":9090", true},
		{denied, a2 + ":8080", false}, // no rules: default deny
		{denied, a5 + ":9090", false},
	}
	for _, c := range tcp {
		got, err := dialFrom(c.from.NetNSPath, c.addr)
		if c.ok && (err != nil || got != "dest "+c.addr) {
			t.Errorf("%s → %s: %q, %v; want allowed", c.from.ContainerIP, c.addr, got, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s → %s: %q; want denied", c.from.ContainerIP, c.addr, got)
		}
	}
	icmp := []struct {
		from *Result
		ip   string
		ok   bool
	}{
		{allowed, a4, true},  // icmp echo rule
		{allowed, a5, true},  // all
		{allowed, a2, false}, // tcp only
		{allowed, a3, false},
		{denied, a4, false},
	}
	for _, c := range icmp {
		err := pingFrom(c.from.NetNSPath, c.ip)
		if c.ok != (err == nil) {
			t.Errorf("ping %s → %s: %v; want allowed=%v", c.from.ContainerIP, c.ip, err, c.ok)
		}
	}

	// The container cannot reach the host itself (the bridge's address).
	hostListener, err := net.Listen("tcp4", allowed.GatewayIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostListener.Close()
	if _, err := dialFrom(allowed.NetNSPath, hostListener.Addr().String()); err == nil {
		t.Errorf("container reached the host at %s", hostListener.Addr())
	}

	// The logged rule logged the connection to a2:8080.
	_, logChain := m.fw.chains("allowed")
	stats, err := m.fw.ipt.StructuredStats(tableFilter, logChain)
	if err != nil || len(stats) == 0 || stats[0].Target != "LOG" || stats[0].Packets == 0 {
		t.Errorf("log chain %s stats = %+v, %v; want a LOG rule that counted a packet", logChain, stats, err)
	}
	if lines, _ := m.fw.ipt.List(tableFilter, logChain); !strings.Contains(strings.Join(lines, "\n"), `--log-prefix "allowed "`) {
		t.Errorf("log chain = %q, want the container id as prefix", lines)
	}

	for _, id := range []string{"allowed", "denied"} {
		if err := m.Teardown(ctx, id); err != nil {
			t.Errorf("Teardown(%s): %v", id, err)
		}
		if err := m.Teardown(ctx, id); err != nil {
			t.Errorf("second Teardown(%s): %v", id, err)
		}
	}
	assertContainersGone(t, m)
}

func TestTwoCellsOnOneMachine(t *testing.T) {
	requireHostNetworking(t)
	cfgA, cfgB := cellConfig(t, "127.0.0.2"), cellConfig(t, "127.0.0.2")
	cfgB.PortRangeStart, cfgB.PortRangeEnd = cfgA.PortRangeEnd+1, cfgA.PortRangeEnd+100
	a, b := newCell(t, cfgA), newCell(t, cfgB)
	ctx := testCtx(t)
	for _, c := range []struct {
		m    *Manager
		name string
	}{{a, "cell-a"}, {b, "cell-b"}} {
		r, err := c.m.Setup(ctx, "same-id", SetupRequest{Ports: []uint32{8080}})
		if err != nil {
			t.Fatalf("%s Setup: %v", c.name, err)
		}
		if !c.m.subnet.Contains(net.ParseIP(r.ContainerIP)) {
			t.Errorf("%s: address %s not in %s", c.name, r.ContainerIP, c.m.subnet)
		}
		if hp := r.Ports[0].HostPort; hp < c.m.cfg.PortRangeStart || hp > c.m.cfg.PortRangeEnd {
			t.Errorf("%s: host port %d outside %d-%d", c.name, hp, c.m.cfg.PortRangeStart, c.m.cfg.PortRangeEnd)
		}
		serveGreeting(t, r.NetNSPath, ":8080", c.name)
		got, err := dialFrom("", fmt.Sprintf("127.0.0.2:%d", r.Ports[0].HostPort))
		if want := c.name + " " + r.ContainerIP + ":8080"; err != nil || got != want {
			t.Errorf("%s host port: %q, %v; want %q", c.name, got, err, want)
		}
		// The container reaches itself, on its own address (through lo).
		got, err = dialFrom(r.NetNSPath, r.ContainerIP+":8080")
		if want := c.name + " " + r.ContainerIP + ":8080"; err != nil || got != want {
			t.Errorf("%s from itself: %q, %v; want %q", c.name, got, err, want)
		}
	}
	// Tearing down one cell's container leaves the other's alone.
	if err := a.Teardown(ctx, "same-id"); err != nil {
		t.Fatal(err)
	}
	assertContainersGone(t, a)
	if _, err := os.Stat(b.netnsPath("same-id")); err != nil {
		t.Errorf("cell b lost its container: %v", err)
	}
	if chains, _ := b.fw.containerChains(); len(chains) != 1 {
		t.Errorf("cell b chains = %v, want its container's egress chain", chains)
	}
}

func TestTeardownOf20ContainersLeavesNothing(t *testing.T) {
	requireHostNetworking(t)
	m := newCell(t, cellConfig(t, "127.0.0.2"))
	d := newDestination(t)
	ctx := testCtx(t)
	logged := tcpRule(d.addrs[0], 8080)
	logged.Log = true
	req := SetupRequest{Ports: []uint32{8080, 8081}, EgressRules: []*models.SecurityGroupRule{logged, tcpRule(d.net.String(), 9090)}}

	const n = 20
	start := time.Now()
	results := make([]*Result, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := m.Setup(ctx, "c-"+strconv.Itoa(i), req)
			results[i] = r
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Setup: %v", err)
		}
	}
	t.Logf("%d concurrent Setups: %v", n, time.Since(start))
	ips, ports := map[string]bool{}, map[uint16]bool{}
	for _, r := range results {
		ips[r.ContainerIP] = true
		for _, p := range r.Ports {
			ports[p.HostPort] = true
		}
	}
	if len(ips) != n || len(ports) != 2*n {
		t.Errorf("%d distinct addresses and %d host ports, want %d and %d", len(ips), len(ports), n, 2*n)
	}
	if chains, _ := m.fw.containerChains(); len(chains) != 2*n {
		t.Errorf("%d container chains, want %d", len(chains), 2*n)
	}
	br, err := netlink.LinkByName(m.cfg.BridgeName)
	if err != nil {
		t.Fatal(err)
	}
	if links, _ := netlink.LinkList(); countOnBridge(links, br) != n {
		t.Errorf("%d veths on the bridge, want %d", countOnBridge(links, br), n)
	}
	// Every container got its own rules: the last one reaches a 9090 port.
	if got, err := dialFrom(results[n-1].NetNSPath, d.addrs[3]+":9090"); err != nil {
		t.Errorf("container %d → %s:9090: %q, %v", n-1, d.addrs[3], got, err)
	}

	start = time.Now()
	errs = make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- m.Teardown(ctx, "c-"+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Teardown: %v", err)
		}
	}
	t.Logf("%d concurrent Teardowns: %v", n, time.Since(start))
	assertContainersGone(t, m)
	// The ports come back: FIFO, so the next container gets fresh ones.
	r, err := m.Setup(ctx, "after", SetupRequest{Ports: []uint32{8080}})
	if err != nil {
		t.Fatal(err)
	}
	if ports[r.Ports[0].HostPort] {
		t.Errorf("port %d reused at once, want the pool's next fresh port", r.Ports[0].HostPort)
	}
}

func countOnBridge(links []netlink.Link, br netlink.Link) int {
	n := 0
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			n++
		}
	}
	return n
}

func TestCleanupRemovesAPreviousRun(t *testing.T) {
	requireHostNetworking(t)
	cfg := cellConfig(t, "127.0.0.2")
	ctx := testCtx(t)
	old := newCell(t, cfg)
	logged := &models.SecurityGroupRule{Protocol: "all", Destinations: []string{"10.0.0.0/8"}, Log: true}
	for _, id := range []string{"old-1", "old-2", "old-3"} {
		if _, err := old.Setup(ctx, id, SetupRequest{Ports: []uint32{8080}, EgressRules: []*models.SecurityGroupRule{logged}}); err != nil {
			t.Fatal(err)
		}
	}
	// A crash in the middle of a Setup: the record and namespace only.
	if err := writeRecord(old.recordPath("half"), &record{ID: "half"}); err != nil {
		t.Fatal(err)
	}
	if err := createNetNS(old.netnsPath("half")); err != nil {
		t.Fatal(err)
	}

	// The restarted cell: a new Manager on the same config.
	m, err := New(ctx, cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(ctx, "old-1", SetupRequest{}); err == nil {
		t.Errorf("Setup over a leftover namespace succeeded, want an error")
	}
	if err := m.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	assertContainersGone(t, m)
	r, err := m.Setup(ctx, "old-1", SetupRequest{Ports: []uint32{8080}})
	if err != nil {
		t.Fatalf("Setup after Cleanup: %v", err)
	}
	if r.Ports[0].HostPort != cfg.PortRangeStart {
		t.Errorf("host port %d, want the range's first, %d", r.Ports[0].HostPort, cfg.PortRangeStart)
	}
	if err := m.Teardown(ctx, "old-1"); err != nil {
		t.Fatal(err)
	}
	assertContainersGone(t, m)
}

func TestSetupRejectsBadInput(t *testing.T) {
	requireHostNetworking(t)
	m := newCell(t, cellConfig(t, "127.0.0.2"))
	ctx := testCtx(t)
	cases := map[string]struct {
		id  string
		req SetupRequest
	}{
		"empty id":       {"", SetupRequest{}},
		"path in id":     {"../x", SetupRequest{}},
		"port 0":         {"p0", SetupRequest{Ports: []uint32{0}}},
		"port too large": {"p1", SetupRequest{Ports: []uint32{70000}}},
		"invalid rule":   {"r0", SetupRequest{EgressRules: []*models.SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"1.2.3.4"}}}}},
		"nil rule":       {"r1", SetupRequest{EgressRules: []*models.SecurityGroupRule{nil}}},
		"bad destination": {"r2", SetupRequest{EgressRules: []*models.SecurityGroupRule{
			{Protocol: "all", Destinations: []string{"10.0.0.300"}}}}},
	}
	for name, c := range cases {
		if _, err := m.Setup(ctx, c.id, c.req); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("%s: Setup error = %v, want invalid", name, err)
		}
	}
	// More ports than the range holds: an error, and nothing held.
	many := make([]uint32, 101)
	for i := range many {
		many[i] = uint32(1000 + i)
	}
	if _, err := m.Setup(ctx, "many", SetupRequest{Ports: many}); err == nil {
		t.Errorf("Setup with 101 ports on a 100-port range succeeded")
	}
	r, err := m.Setup(ctx, "dup", SetupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(ctx, "dup", SetupRequest{}); err == nil {
		t.Errorf("second Setup of the same id succeeded")
	}
	if !slices.Equal(r.Env(), InstanceEnv("127.0.0.2", r.ContainerIP, "", nil)) {
		t.Errorf("Env = %q", r.Env())
	}
	if err := m.Teardown(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	assertContainersGone(t, m)
}
