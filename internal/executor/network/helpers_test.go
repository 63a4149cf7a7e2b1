package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/diego-go/diego/internal/executor/network/nettest"
)

// requireHostNetworking skips t (or fails it under
// DIEGO_TEST_REQUIRE_CONTAINERD=1) unless this machine can run the tests.
func requireHostNetworking(t *testing.T) {
	t.Helper()
	nettest.RequireHostNetworking(t, DefaultPluginDirs)
}

var (
	randomHex  = nettest.RandomHex
	randomInt  = nettest.RandomInt
	freeSubnet = func(t *testing.T) *net.IPNet { return nettest.FreeSubnet(t) }
)

func nthIP(n *net.IPNet, i int) net.IP {
	ip := make(net.IP, 4)
	copy(ip, n.IP.To4())
	ip[3] += byte(i)
	return ip
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testLogger() lager.Logger {
	l := lager.NewLogger("test")
	if testing.Verbose() {
		l.RegisterSink(lager.NewWriterSink(os.Stderr, lager.INFO))
	}
	return l
}

// cellConfig is a cell with a unique bridge, subnet, chain prefix, state
// dir and port range on hostIP.
func cellConfig(t *testing.T, hostIP string) Config {
	suffix := randomHex(3)
	start := uint16(30000 + randomInt(20000))
	return Config{
		BridgeName:     "dgt" + suffix,
		Subnet:         freeSubnet(t).String(),
		HostIP:         hostIP,
		PortRangeStart: start,
		PortRangeEnd:   start + 99,
		StateDir:       t.TempDir(),
		ChainPrefix:    "dgt" + suffix,
	}
}

// newCell starts a Manager on cfg; when t ends it is destroyed and the
// machine is checked to hold nothing of it.
func newCell(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := New(testCtx(t), cfg, testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		assertCellGone(t, m)
	})
	if err := m.Cleanup(testCtx(t)); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	return m
}

// iptablesDump returns `iptables-save`-like rules of a table.
func iptablesDump(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", table, "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t %s -S: %v\n%s", table, err, out)
	}
	return string(out)
}

// assertContainersGone checks that no container network of m is left:
// namespaces, records, files, veths on the bridge, egress chains, plugin
// rules, IPAM allocations and host ports.
func assertContainersGone(t *testing.T, m *Manager) {
	t.Helper()
	left, err := m.Leftovers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range left {
		t.Errorf("left: %s", l)
	}
	if rules, err := m.fw.ipt.List(tableFilter, m.fw.egressChain()); err == nil && len(rules) != 2 {
		t.Errorf("egress dispatch chain holds more than its REJECT: %q", rules)
	}
	subnetPrefix := strings.TrimSuffix(m.subnet.IP.String(), "0")
	for _, line := range strings.Split(iptablesDump(t, tableNAT), "\n") {
		if strings.Contains(line, m.fw.masqChain()) {
			continue // the cell's masquerading, not a container's
		}
		if strings.Contains(line, m.cfg.networkName()) || strings.Contains(line, subnetPrefix) {
			t.Errorf("nat rule of a container left: %s", line)
		}
	}
}

// assertCellGone checks that nothing of m's cell is left after Destroy.
func assertCellGone(t *testing.T, m *Manager) {
	t.Helper()
	if _, err := netlink.LinkByName(m.cfg.BridgeName); err == nil {
		t.Errorf("bridge %s is still there", m.cfg.BridgeName)
	}
	for _, table := range []string{tableFilter, tableNAT} {
		dump := iptablesDump(t, table)
		for _, s := range []string{m.cfg.ChainPrefix, m.cfg.BridgeName, m.cfg.networkName()} {
			if strings.Contains(dump, s) {
				t.Errorf("%s table still mentions %s:\n%s", table, s, dump)
			}
		}
	}
	for _, d := range []string{m.netnsDir, m.recordsDir, m.filesDir, m.ipamDir, m.cacheDir} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is still there", d)
		}
	}
}

// inNetNS runs f on a thread inside the network namespace at path.
func inNetNS(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime discards it.
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// serveGreeting listens on addr inside the namespace at nsPath; each
// connection gets "<greeting> <local address>\n".
func serveGreeting(t *testing.T, nsPath, addr, greeting string) net.Listener {
	t.Helper()
	var l net.Listener
	err := inNetNS(nsPath, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", greeting, c.LocalAddr())
			c.Close()
		}
	}()
	return l
}

// dialFrom connects to addr from the namespace at nsPath ("" = the host)
// and returns the first line the server writes.
func dialFrom(nsPath, addr string) (string, error) {
	var c net.Conn
	dial := func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 2*time.Second)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = inNetNS(nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// pingFrom sends one ICMP echo request from the namespace at nsPath.
func pingFrom(nsPath, ip string) error {
	out, err := exec.Command("nsenter", "--net="+nsPath, "busybox", "ping", "-c", "1", "-W", "2", ip).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// destination is a network namespace the test creates as "the outside": a
// veth pair to the host, several addresses on its end, a default route via
// the host, and TCP servers on ports 8080 and 9090 of every address.
type destination struct {
	nsPath string
	net    *net.IPNet
	// addrs are its addresses: net's .2, .3, .4 and .5.
	addrs []string
}

func newDestination(t *testing.T) *destination {
	t.Helper()
	n := freeSubnet(t)
	d := &destination{nsPath: filepath.Join(t.TempDir(), "dest"), net: n}
	if err := createNetNS(d.nsPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeNetNS(d.nsPath); err != nil {
			t.Error(err)
		}
	})
	hostName, peerName := "dgv"+randomHex(4), "dgp"+randomHex(4)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName}, PeerName: peerName}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(hostName); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				t.Errorf("deleting veth %s: %v", hostName, err)
			}
		}
	})
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName(peerName)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.GetFromPath(d.nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		t.Fatal(err)
	}
	gw := nthIP(n, 1)
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: &net.IPNet{IP: gw, Mask: n.Mask}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		t.Fatal(err)
	}
	err = inNetNS(d.nsPath, func() error {
		peer, err := netlink.LinkByName(peerName)
		if err != nil {
			return err
		}
		for i := 2; i <= 5; i++ {
			ip := nthIP(n, i)
			if err := netlink.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: n.Mask}}); err != nil {
				return err
			}
			d.addrs = append(d.addrs, ip.String())
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(peer); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{Gw: gw})
	})
	if err != nil {
		t.Fatalf("configuring the destination namespace: %v", err)
	}
	for _, port := range []string{"8080", "9090"} {
		serveGreeting(t, d.nsPath, "0.0.0.0:"+port, "dest")
	}
	return d
}
