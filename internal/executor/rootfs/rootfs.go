// Package rootfs prepares the root filesystems the executor gives containers:
// it maps `preloaded:<stack>` rootfs URIs to directories on the cell (Stacks),
// builds a minimal busybox stack for tests and diego-dev (BuildBusybox),
// resolves user names from a stack's /etc/passwd (LookupUser), and computes
// the content key under which a stack directory is imported once into
// containerd (Digest).
package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PreloadedScheme is the URI scheme of stacks that live on the cell.
const PreloadedScheme = "preloaded"

// Errors returned by Stacks.Resolve, matched with errors.Is.
var (
	// ErrUnknownStack means a preloaded stack the cell does not have.
	ErrUnknownStack = errors.New("unknown preloaded stack")
	// ErrUnsupportedScheme means a rootfs URI this slice cannot serve yet
	// (docker://, preloaded+layer:, ...).
	ErrUnsupportedScheme = errors.New("unsupported rootfs scheme")
)

// Stacks maps a stack name (cflinuxfs4) to the directory holding its root
// filesystem on the cell.
type Stacks map[string]string

// Resolve returns the directory of rootfsURI, which must be
// `preloaded:<stack>` with a stack in s.
func (s Stacks) Resolve(rootfsURI string) (string, error) {
	scheme, stack, ok := strings.Cut(rootfsURI, ":")
	if !ok || scheme != PreloadedScheme {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, rootfsURI)
	}
	// The reference also accepts preloaded:///<stack>.
	stack = strings.TrimPrefix(stack, "///")
	dir, ok := s[stack]
	if !ok || stack == "" {
		return "", fmt.Errorf("%w: %q", ErrUnknownStack, stack)
	}
	return dir, nil
}

// Users of the busybox stack, with the ids cflinuxfs4 gives them.
const (
	VcapUID = 2000
	VcapGID = 2000
)

const passwd = `root:x:0:0:root:/root:/bin/sh
vcap:x:2000:2000::/home/vcap:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const group = `root:x:0:
vcap:x:2000:
nogroup:x:65534:
`

// BuildBusybox writes into dir (created if missing) a root filesystem made of
// the host's static busybox (Debian's busybox-static at busyboxPath, empty for
// /bin/busybox): the binary at /bin/busybox, a symlink per applet at the path
// busybox lists for it, /etc/passwd and /etc/group with root and vcap, and the
// usual empty directories (/tmp world-writable).
func BuildBusybox(dir, busyboxPath string) error {
	if busyboxPath == "" {
		busyboxPath = "/bin/busybox"
	}
	list, err := exec.Command(busyboxPath, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("listing busybox applets: %w", err)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home/vcap", "proc", "sys", "dev", "run", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(filepath.Join(dir, "home/vcap"), VcapUID, VcapGID); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777|os.ModeSticky); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(dir, "bin/busybox"), busyboxPath, 0o755); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "bin/busybox" || strings.Contains(applet, "..") {
			continue
		}
		link := filepath.Join(dir, applet)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":        passwd,
		"etc/group":         group,
		"etc/hostname":      "busybox\n",
		"etc/stack-version": "busybox\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
