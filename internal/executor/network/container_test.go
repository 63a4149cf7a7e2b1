package network

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
	"github.com/diego-go/diego/internal/executor/rootfs"
	"github.com/diego-go/diego/internal/models"
)

// runIn runs a shell script in c and returns its exit code and output.
func runIn(t *testing.T, c *containerd.Container, env []string, script string) (int, string) {
	t.Helper()
	var (
		mu  sync.Mutex
		out []string
	)
	p, err := c.Run(testCtx(t), containerd.ProcessSpec{
		Path: "/bin/sh", Args: []string{"-c", script}, Env: env,
		Output: func(_ containerd.Stream, line string) {
			mu.Lock()
			out = append(out, line)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := p.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return st.Code, strings.Join(out, "\n")
}

// A real container on containerd joins the namespace Setup made: its web
// server answers on the host port of the cell's loopback address, it sees
// its address, resolv.conf, hosts and CF_INSTANCE_* variables, and its
// traffic out obeys the egress rules.
func TestContainerOnTheCellNetwork(t *testing.T) {
	requireHostNetworking(t)
	d := containerdtest.Start(t)
	dir := t.TempDir()
	if err := rootfs.BuildBusybox(dir+"/rootfs", ""); err != nil {
		t.Fatal(err)
	}
	backend, err := containerd.New(testCtx(t), containerd.Config{
		Address: d.Address, Namespace: "diego-net-test", Snapshotter: d.Snapshotter,
		CgroupParent: d.CgroupParent, RuncRoot: d.RuncRoot, StateDir: dir + "/state",
		Stacks: rootfs.Stacks{"busybox": dir + "/rootfs"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })

	cfg := cellConfig(t, "127.0.0.2")
	cfg.ResolvConf = dir + "/cell-resolv.conf"
	writeFile(t, cfg.ResolvConf, "search cell.internal\nnameserver 127.0.0.53\nnameserver 10.9.9.9\n")
	m := newCell(t, cfg)
	dest := newDestination(t)
	ctx := testCtx(t)

	const id = "web-instance-guid"
	res, err := m.Setup(ctx, id, SetupRequest{
		Ports:       []uint32{8080},
		EgressRules: []*models.SecurityGroupRule{tcpRule(dest.addrs[0], 8080)},
	})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	env := append(IdentityEnv(id, 2), res.Env()...)
	c, err := backend.Create(ctx, containerd.ContainerSpec{
		ID: id, RootFS: "preloaded:busybox", Env: env,
		NetNSPath: res.NetNSPath, ResolvConfPath: res.ResolvConfPath, HostsPath: res.HostsPath,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		_ = backend.Delete(context.Background(), id)
		_ = m.Teardown(context.Background(), id)
	})

	// The web server, on the host port of 127.0.0.2.
	if _, err := c.Run(ctx, containerd.ProcessSpec{
		Path: "/bin/sh", Args: []string{"-c", `mkdir -p /www && echo "hello from $CF_INSTANCE_GUID" > /www/index.html && exec httpd -f -p 8080 -h /www`},
	}); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.2:%d/", res.Ports[0].HostPort)
	body, err := getUntil(url, 10*time.Second)
	if err != nil || body != "hello from "+id+"\n" {
		t.Errorf("GET %s = %q, %v", url, body, err)
	}

	// What the container sees.
	code, out := runIn(t, c, nil, `ip -4 -o addr show eth0; cat /etc/resolv.conf /etc/hosts; hostname; env | grep -E '^(CF_)?INSTANCE_' | sort`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{
		"inet " + res.ContainerIP + "/24",
		"search cell.internal\nnameserver 10.9.9.9\n127.0.0.1 localhost\n" + res.ContainerIP + " " + id + "\n" + id,
		"CF_INSTANCE_ADDR=127.0.0.2:" + fmt.Sprint(res.Ports[0].HostPort),
		"CF_INSTANCE_GUID=" + id, "CF_INSTANCE_INDEX=2",
		"CF_INSTANCE_INTERNAL_IP=" + res.ContainerIP,
		"CF_INSTANCE_IP=127.0.0.2",
		fmt.Sprintf(`CF_INSTANCE_PORTS=[{"external":%d,"internal":8080}]`, res.Ports[0].HostPort),
	} {
		if !strings.Contains(out+"\n", want) {
			t.Errorf("container output lacks %q:\n%s", want, out)
		}
	}
	if code, out := runIn(t, c, nil, "echo x > /etc/resolv.conf"); code == 0 {
		t.Errorf("/etc/resolv.conf is writable: %s", out)
	}

	// Egress from a process of the container: the allowed destination
	// answers, the others are rejected.
	code, out = runIn(t, c, nil, fmt.Sprintf("nc -w 2 %s 8080 </dev/null", dest.addrs[0]))
	if code != 0 || out != "dest "+dest.addrs[0]+":8080" {
		t.Errorf("nc to the allowed destination: exit %d, %q", code, out)
	}
	for _, addr := range []string{dest.addrs[0] + " 9090", dest.addrs[1] + " 8080"} {
		if code, out := runIn(t, c, nil, "nc -w 2 "+addr+" </dev/null"); code == 0 {
			t.Errorf("nc %s: exit 0, %q; want rejected", addr, out)
		}
	}

	if err := backend.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown(ctx, id); err != nil {
		t.Fatal(err)
	}
	assertContainersGone(t, m)
	if _, err := http.Get(url); err == nil {
		t.Errorf("the host port still answers after Teardown")
	}
}

// getUntil polls url until it answers 200 or the deadline passes.
func getUntil(url string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return string(b), nil
			}
			err = fmt.Errorf("status %d, %v", resp.StatusCode, rerr)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
