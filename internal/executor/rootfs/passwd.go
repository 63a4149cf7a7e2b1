package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrUnknownUser means a user name that the stack's /etc/passwd lacks.
var ErrUnknownUser = errors.New("unknown user")

// User is a resolved process user.
type User struct {
	Name string
	UID  uint32
	GID  uint32
	Home string
}

// LookupUser resolves name in dir/etc/passwd: a user name, or a numeric
// "uid" or "uid:gid" (then no file is read unless a name is needed). An empty
// name is root. Like Garden, users are resolved from the container's own
// filesystem, never the host's.
func LookupUser(dir, name string) (User, error) {
	if name == "" {
		name = "root"
	}
	if uid, gid, ok := numericUser(name); ok {
		return User{Name: name, UID: uid, GID: gid, Home: "/"}, nil
	}
	f, err := os.Open(filepath.Join(dir, "etc", "passwd"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && name == "root" {
			return User{Name: "root", Home: "/root"}, nil
		}
		return User{}, fmt.Errorf("reading /etc/passwd of the rootfs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || err2 != nil {
			return User{}, fmt.Errorf("bad /etc/passwd entry for %q", name)
		}
		return User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: fields[5]}, nil
	}
	if err := sc.Err(); err != nil {
		return User{}, err
	}
	return User{}, fmt.Errorf("%w: %q", ErrUnknownUser, name)
}

func numericUser(s string) (uid, gid uint32, ok bool) {
	u, g, hasGID := strings.Cut(s, ":")
	uv, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, false
	}
	gv := uv
	if hasGID {
		if gv, err = strconv.ParseUint(g, 10, 32); err != nil {
			return 0, 0, false
		}
	}
	return uint32(uv), uint32(gv), true
}
