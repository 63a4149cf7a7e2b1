package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Digest returns a key for the content of the stack directory dir: a SHA-256
// over every entry's relative path, mode, owner, size, modification time and
// symlink target (not file contents, so it stays cheap for a full stack).
// Rebuilding or upgrading a stack in place changes the key, so the executor
// imports it again instead of serving a stale base snapshot.
func Digest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		var uid, gid uint32
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			uid, gid = st.Uid, st.Gid
		}
		target := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if target, err = os.Readlink(path); err != nil {
				return err
			}
		}
		size := info.Size()
		if info.IsDir() {
			size = 0 // directory sizes vary with the file system's layout
		}
		fmt.Fprintf(h, "%q %o %d:%d %d %d %q\n", rel, info.Mode(), uid, gid, size, info.ModTime().UnixNano(), target)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digesting rootfs %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
