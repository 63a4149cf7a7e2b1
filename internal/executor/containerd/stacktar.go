package containerd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"code.cloudfoundry.org/lager/v3"
)

// stackDir returns the directory of a preloaded stack: path itself, or,
// when path is a tarball (the reference's rootfs.tar; gzip too), the
// directory it is extracted into once, <StateDir>/stacks/<key>. The key is
// the file's path, size, modification time and inode: a replaced tarball
// is extracted again (and imported as a new base, its content differing).
func (b *Backend) stackDir(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: stack %s: %v", ErrInvalid, path, err)
	}
	if st.IsDir() {
		return path, nil
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w: stack %s is neither a directory nor a tarball", ErrInvalid, path)
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	sum := sha256.Sum256([]byte(path + "\x00" + strconv.FormatInt(st.Size(), 10) + "\x00" +
		strconv.FormatInt(st.ModTime().UnixNano(), 10) + "\x00" + strconv.FormatUint(ino, 10)))
	key := hex.EncodeToString(sum[:12])

	b.baseMu.Lock()
	defer b.baseMu.Unlock()
	stacks := filepath.Join(b.cfg.StateDir, "stacks")
	dir := filepath.Join(stacks, key)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(stacks, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(stacks, "extract-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("tar", "--numeric-owner", "-xpf", path, "-C", tmp).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("%w: extracting stack %s: %v: %s", ErrInvalid, path, err, out)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	b.logger.Info("extracted-stack", lager.Data{"tarball": path, "dir": dir})
	return dir, nil
}
