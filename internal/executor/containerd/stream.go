package containerd

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/diego-go/diego/internal/executor/rootfs"
)

// StreamIn and StreamOut are Garden's: a tar archive into or out of a
// running container, as a user of the container. Garden runs tar inside the
// container; here the archive is read and written from the host, through
// the container's root directory (/proc/<init pid>/root: its rootfs with
// its bind mounts, as its processes see it), on a thread whose file system
// identity (fsuid, fsgid, no supplementary groups) is the user's, so that
// what is created belongs to the user and the user's permissions apply, as
// with Garden's tar. Every path is resolved inside the container
// (openat2 RESOLVE_IN_ROOT through filepath-securejoin's pathrs-lite, and
// single components with O_NOFOLLOW), never on the host: a symlink in the
// container cannot lead out of it.

// StreamIn extracts the tar archive tarStream into the directory dst of c,
// which is created (with its missing parents, as user) if needed. A
// relative dst is relative to user's home. Entries are made as user (root
// if empty): directories, regular files, symlinks and hard links, with the
// archive's permission bits (less the 022 umask for a user other than
// root, as a non-root tar does) and modification times; ownership in the
// archive is ignored. Devices and FIFOs are skipped; an entry whose name
// leads out of dst fails the stream.
func (c *Container) StreamIn(ctx context.Context, dst, user string, tarStream io.Reader) error {
	if tarStream == nil {
		return fmt.Errorf("%w: stream in: no tar stream", ErrInvalid)
	}
	u, err := rootfs.LookupUser(c.rootfsDir, user)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	root, err := c.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	dst = inContainer(dst, u.Home)
	return asUser(u, func() error {
		x := extractor{root: root, rootOwner: u.UID == 0, ctx: ctx}
		defer x.close()
		if err := x.extract(dst, tarStream); err != nil {
			return fmt.Errorf("streaming into %s:%s: %w", c.id, dst, err)
		}
		return nil
	})
}

// StreamOut returns a tar archive of src in c, read as user (root if
// empty): src itself (a file, symlink or directory tree) under its base
// name, or, when src ends with "/", the directory's contents under "./", as
// Garden's `tar -C` does. A relative src is relative to user's home.
// Symlinks are archived, never followed. Errors finding src are returned
// here; errors while reading end the archive's stream with that error.
func (c *Container) StreamOut(ctx context.Context, src, user string) (io.ReadCloser, error) {
	u, err := rootfs.LookupUser(c.rootfsDir, user)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	root, err := c.openRoot()
	if err != nil {
		return nil, err
	}
	contents := strings.HasSuffix(src, "/")
	src = inContainer(src, u.Home)
	dir, name := path.Split(src)
	if contents || src == "/" {
		dir, name = src, "."
	}
	pr, pw := io.Pipe()
	started := make(chan error, 1)
	go func() {
		defer root.Close()
		// The error of the walk, if any, reaches the reader; a closed
		// reader stops the walk (its writes fail).
		err := asUser(u, func() error {
			parent, err := pathrs.OpenatInRoot(root, dir)
			if err != nil {
				started <- notFound(err, src)
				return nil
			}
			defer parent.Close()
			var st unix.Stat_t
			if err := unix.Fstatat(int(parent.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				started <- notFound(err, src)
				return nil
			}
			started <- nil
			tw := tar.NewWriter(pw)
			w := walker{ctx: ctx, tw: tw}
			if err := w.add(int(parent.Fd()), name, pathName(name, contents || src == "/")); err != nil {
				return err
			}
			return tw.Close()
		})
		if err != nil {
			// Failing before the lookup (the thread's identity) must
			// still answer StreamOut; after it, the slot is taken.
			select {
			case started <- err:
			default:
			}
		}
		pw.CloseWithError(err)
	}()
	if err := <-started; err != nil {
		pr.Close()
		return nil, fmt.Errorf("streaming out of %s: %w", c.id, err)
	}
	return pr, nil
}

// openRoot opens the container's root directory through its init.
func (c *Container) openRoot() (*os.File, error) {
	pid := c.task.Pid()
	root, err := os.OpenFile(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the root of %s: %w", c.id, err)
	}
	return root, nil
}

// inContainer makes p absolute and clean, relative to home if it is not
// absolute.
func inContainer(p, home string) string {
	if !path.IsAbs(p) {
		p = path.Join(home, p)
	}
	return path.Clean(p)
}

func notFound(err error, src string) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("%w: %s", ErrNotFound, src)
	}
	return fmt.Errorf("%s: %w", src, err)
}

// pathName is the archive name of the top entry.
func pathName(name string, contents bool) string {
	if contents {
		return "./"
	}
	return name
}

// asUser runs f on an OS thread of its own whose file system identity is u
// (fsuid, fsgid, no supplementary groups), and waits for it. The thread is
// never given back: it ends with f's goroutine and the runtime discards it,
// so no other goroutine ever runs with that identity. Root runs as is.
func asUser(u rootfs.User, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if u.UID != 0 || u.GID != 0 {
			// Raw syscalls: they change this thread only (the syscall
			// package's wrappers change every thread of the process).
			if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
				errc <- fmt.Errorf("setgroups: %w", e)
				return
			}
			if err := unix.Setfsgid(int(u.GID)); err != nil {
				errc <- fmt.Errorf("setfsgid: %w", err)
				return
			}
			if err := unix.Setfsuid(int(u.UID)); err != nil {
				errc <- fmt.Errorf("setfsuid: %w", err)
				return
			}
		}
		errc <- f()
	}()
	return <-errc
}

// extractor writes the entries of an archive below one directory.
type extractor struct {
	ctx       context.Context
	root      *os.File
	rootOwner bool
	dst       *os.File // O_PATH handle of the destination directory
	// The parent directory of the last entry, kept open: archives list the
	// entries of a directory together.
	lastDir    string
	lastHandle *os.File
}

func (x *extractor) close() {
	if x.lastHandle != nil {
		x.lastHandle.Close()
	}
	if x.dst != nil {
		x.dst.Close()
	}
}

func (x *extractor) extract(dst string, r io.Reader) error {
	dstHandle, err := pathrs.MkdirAllHandle(x.root, dst, 0o755)
	if err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	x.dst = dstHandle
	tr := tar.NewReader(ctxReader{ctx: x.ctx, r: r})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar stream: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

// clean returns name relative to the destination ("" for the destination
// itself), refusing names that lead out of it.
func clean(name string) (string, error) {
	p := path.Clean("/" + name)
	if p == "/" {
		return "", nil
	}
	if strings.HasPrefix(path.Clean(name), "../") || path.Clean(name) == ".." {
		return "", errors.New("entry leads out of the destination")
	}
	return p[1:], nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := clean(hdr.Name)
	if err != nil {
		return err
	}
	mode := uint32(hdr.Mode) & 0o7777
	if !x.rootOwner {
		mode &= 0o777 &^ 0o022
	}
	if hdr.Typeflag == 0 { // the old "regular file" flag
		hdr.Typeflag = tar.TypeReg
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return nil // devices, FIFOs, global headers: skipped
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the destination itself exists already
		}
		return errors.New("entry replaces the destination directory")
	}
	parent, base := path.Split(rel)
	dir, err := x.dir(strings.TrimSuffix(parent, "/"))
	if err != nil {
		return err
	}
	dfd := int(dir.Fd())
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(dfd, base, mode)
	case tar.TypeReg:
		if err := removeNonDir(dfd, base); err != nil {
			return err
		}
		fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		defer f.Close()
		if _, err := io.Copy(f, r); err != nil {
			return err
		}
		if err := unix.Fchmod(fd, mode); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return setMtime(dfd, base, hdr.ModTime)
	case tar.TypeSymlink:
		if err := removeNonDir(dfd, base); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, dfd, base); err != nil {
			return err
		}
		return setMtime(dfd, base, hdr.ModTime)
	default: // tar.TypeLink
		target, err := clean(hdr.Linkname)
		if err != nil || target == "" {
			return fmt.Errorf("hard link to %q out of the destination", hdr.Linkname)
		}
		h, err := pathrs.OpenatInRoot(x.dst, target)
		if err != nil {
			return err
		}
		defer h.Close()
		if err := removeNonDir(dfd, base); err != nil {
			return err
		}
		// Through the thread's own fd link: linkat(AT_EMPTY_PATH) would
		// need CAP_DAC_READ_SEARCH, which a non-root fsuid drops.
		return unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/thread-self/fd/%d", h.Fd()), dfd, base, unix.AT_SYMLINK_FOLLOW)
	}
}

// dir returns a handle of the directory rel below the destination,
// creating it and its parents as needed.
func (x *extractor) dir(rel string) (*os.File, error) {
	if rel == "" {
		return x.dst, nil
	}
	if x.lastHandle != nil && x.lastDir == rel {
		return x.lastHandle, nil
	}
	h, err := pathrs.MkdirAllHandle(x.dst, rel, 0o755)
	if err != nil {
		return nil, err
	}
	if x.lastHandle != nil {
		x.lastHandle.Close()
	}
	x.lastDir, x.lastHandle = rel, h
	return h, nil
}

// mkdir makes directory name in dfd (an existing one is kept, a file in the
// way is replaced) and gives it mode.
func (x *extractor) mkdir(dfd int, name string, mode uint32) error {
	err := unix.Mkdirat(dfd, name, 0o700)
	if errors.Is(err, unix.EEXIST) {
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil // kept as it is, like tar's existing directories
		}
		if err := unix.Unlinkat(dfd, name, 0); err != nil {
			return err
		}
		err = unix.Mkdirat(dfd, name, 0o700)
	}
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, mode)
}

// setMtime sets the access and modification times of name in dfd (not
// following a symlink) to t, unless t is unset.
func setMtime(dfd int, name string, t time.Time) error {
	if t.IsZero() || t.Unix() < 0 {
		return nil
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(dfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// removeNonDir removes name from dfd unless it is missing or a directory.
func removeNonDir(dfd int, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	return unix.Unlinkat(dfd, name, 0)
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// walker writes a tree into a tar archive.
type walker struct {
	ctx context.Context
	tw  *tar.Writer
}

// add archives the entry name of directory dfd under the archive name
// arch (a directory's ends with "/").
func (w *walker) add(dfd int, name, arch string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // gone since its directory was read
		}
		return err
	}
	hdr := &tar.Header{
		Name:    arch,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return w.dir(dfd, name, arch, hdr)
	case unix.S_IFREG:
		return w.file(dfd, name, hdr)
	case unix.S_IFLNK:
		target, err := readlinkat(dfd, name)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return w.tw.WriteHeader(hdr)
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
		return w.tw.WriteHeader(hdr)
	}
	return nil // sockets and devices are left out
}

func (w *walker) dir(dfd int, name, arch string, hdr *tar.Header) error {
	if !strings.HasSuffix(arch, "/") {
		arch += "/"
	}
	hdr.Typeflag, hdr.Name = tar.TypeDir, arch
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		if err := w.add(fd, n, arch+n); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) file(dfd int, name string, hdr *tar.Header) error {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil // replaced since it was looked at
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	// The size in the header is what is archived, even if the file grows
	// or shrinks meanwhile (then the archive fails).
	_, err = io.CopyN(w.tw, f, st.Size)
	return err
}

func readlinkat(dfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
