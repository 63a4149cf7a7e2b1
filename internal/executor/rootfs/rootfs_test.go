package rootfs_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/internal/executor/rootfs"
)

func TestStacksResolve(t *testing.T) {
	stacks := rootfs.Stacks{"cflinuxfs4": "/var/vcap/packages/cflinuxfs4/rootfs"}
	cases := []struct {
		uri     string
		want    string
		wantErr error
	}{
		{"preloaded:cflinuxfs4", "/var/vcap/packages/cflinuxfs4/rootfs", nil},
		{"preloaded:///cflinuxfs4", "/var/vcap/packages/cflinuxfs4/rootfs", nil},
		{"preloaded:cflinuxfs3", "", rootfs.ErrUnknownStack},
		{"preloaded:", "", rootfs.ErrUnknownStack},
		{"docker:///busybox", "", rootfs.ErrUnsupportedScheme},
		{"cflinuxfs4", "", rootfs.ErrUnsupportedScheme},
	}
	for _, c := range cases {
		got, err := stacks.Resolve(c.uri)
		if !errors.Is(err, c.wantErr) || got != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", c.uri, got, err, c.want, c.wantErr)
		}
	}
}

func TestLookupUser(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nvcap:x:2000:2001::/home/vcap:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		want    rootfs.User
		wantErr error
	}{
		{"", rootfs.User{Name: "root", Home: "/root"}, nil},
		{"vcap", rootfs.User{Name: "vcap", UID: 2000, GID: 2001, Home: "/home/vcap"}, nil},
		{"1000", rootfs.User{Name: "1000", UID: 1000, GID: 1000, Home: "/"}, nil},
		{"1000:5", rootfs.User{Name: "1000:5", UID: 1000, GID: 5, Home: "/"}, nil},
		{"alice", rootfs.User{}, rootfs.ErrUnknownUser},
	}
	for _, c := range cases {
		got, err := rootfs.LookupUser(dir, c.name)
		if !errors.Is(err, c.wantErr) || got != c.want {
			t.Errorf("LookupUser(%q) = %+v, %v; want %+v, %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

func TestBuildBusyboxAndDigest(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox (scripts/install-deps.sh installs busybox-static)")
	}
	dir := t.TempDir()
	if err := rootfs.BuildBusybox(dir, ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"bin/sh", "bin/sleep", "bin/dd", "etc/passwd", "tmp"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("/tmp mode = %v, %v; want sticky 0777", fi.Mode(), err)
	}
	if u, err := rootfs.LookupUser(dir, "vcap"); err != nil || u.UID != rootfs.VcapUID {
		t.Errorf("vcap = %+v, %v", u, err)
	}
	// Applets point at the absolute path, which resolves inside the container.
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	if out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "echo", "ok").Output(); err != nil || string(out) != "ok\n" {
		t.Errorf("busybox echo = %q, %v", out, err)
	}

	d1, err := rootfs.Digest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := rootfs.Digest(dir); d2 != d1 {
		t.Fatalf("digest not stable: %s then %s", d1, d2)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/stack-version"), []byte("busybox 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d3, _ := rootfs.Digest(dir); d3 == d1 {
		t.Fatal("digest did not change after a file changed")
	}
}
