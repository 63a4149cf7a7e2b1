package containerd_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(1234567890, 0)}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sh runs a script in c as root and returns its stdout lines.
func streamSh(t *testing.T, c *containerd.Container, script string) []string {
	t.Helper()
	st, lines := run(t, c, containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}})
	if st.Code != 0 {
		t.Fatalf("%s: exit %d: %q", script, st.Code, lines)
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimPrefix(l, "stdout: "))
	}
	return out
}

func TestStreamIn(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "stream-in-" + streamSuffix()})
	ctx := testCtx(t)

	archive := makeTar(t,
		tarEntry{name: "./", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "app/", typ: tar.TypeDir, mode: 0o750},
		tarEntry{name: "app/run.sh", typ: tar.TypeReg, mode: 0o755, body: "echo hi\n"},
		tarEntry{name: "app/data/x.txt", typ: tar.TypeReg, mode: 0o666, body: "data"},
		tarEntry{name: "app/link", typ: tar.TypeSymlink, link: "run.sh"},
		tarEntry{name: "app/hard", typ: tar.TypeLink, link: "app/run.sh"},
		tarEntry{name: "app/fifo", typ: tar.TypeFifo, mode: 0o644},
	)
	if err := c.StreamIn(ctx, "/home/vcap/dl", "vcap", bytes.NewReader(archive)); err != nil {
		t.Fatalf("StreamIn: %v", err)
	}
	got := streamSh(t, c, `cd /home/vcap/dl && stat -c '%u:%g %a %h %n' . app app/run.sh app/data app/data/x.txt app/hard && readlink app/link && cat app/run.sh app/data/x.txt && echo && ls app && date -u -r app/run.sh +%s`)
	want := []string{
		"2000:2000 755 3 .", "2000:2000 750 3 app", "2000:2000 755 2 app/run.sh", "2000:2000 755 2 app/data",
		"2000:2000 644 1 app/data/x.txt", "2000:2000 755 2 app/hard",
		"run.sh", "echo hi", "data", "data", "hard", "link", "run.sh", "1234567890",
	}
	if !slices.Equal(got, want) {
		t.Errorf("in the container:\n%q\nwant\n%q", got, want)
	}

	// A relative destination is below the user's home; root keeps modes.
	if err := c.StreamIn(ctx, "rel", "", bytes.NewReader(makeTar(t, tarEntry{name: "s", typ: tar.TypeReg, mode: 0o4755, body: "x"}))); err != nil {
		t.Fatalf("StreamIn: %v", err)
	}
	if got := streamSh(t, c, "stat -c '%u %a' /root/rel/s"); !slices.Equal(got, []string{"0 4755"}) {
		t.Errorf("as root: %q", got)
	}
}

func TestStreamInRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "stream-refuse-" + streamSuffix()})
	ctx := testCtx(t)
	hostMarker := "/etc/diego-stream-test-" + streamSuffix()

	// The user's permissions apply.
	err := c.StreamIn(ctx, "/etc/app", "vcap", bytes.NewReader(makeTar(t, tarEntry{name: "f", typ: tar.TypeReg, mode: 0o644, body: "x"})))
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("vcap into /etc: %v", err)
	}
	// Names out of the destination fail.
	err = c.StreamIn(ctx, "/tmp/a", "", bytes.NewReader(makeTar(t, tarEntry{name: "../../escape", typ: tar.TypeReg, body: "x"})))
	if err == nil || !strings.Contains(err.Error(), "leads out of the destination") {
		t.Errorf("../ entry: %v", err)
	}
	// A symlink in the archive does not lead anywhere but below dst.
	err = c.StreamIn(ctx, "/tmp/b", "", bytes.NewReader(makeTar(t,
		tarEntry{name: "up", typ: tar.TypeSymlink, link: "/"},
		tarEntry{name: "up" + hostMarker, typ: tar.TypeReg, mode: 0o644, body: "pwned"},
		tarEntry{name: "abs", typ: tar.TypeSymlink, link: "/etc"},
		tarEntry{name: "abs/hosts.bak", typ: tar.TypeReg, mode: 0o644, body: "pwned"},
	)))
	if err != nil {
		t.Fatalf("symlinks: %v", err)
	}
	if _, err := os.Stat(hostMarker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("wrote on the host: %v", err)
	}
	got := streamSh(t, c, fmt.Sprintf("ls %s /etc/hosts.bak 2>&1; cat /tmp/b%s; echo; cat /tmp/b/etc/hosts.bak", hostMarker, hostMarker))
	if len(got) != 4 || !strings.Contains(got[0], "No such file") || !strings.Contains(got[1], "No such file") || got[2] != "pwned" || got[3] != "pwned" {
		t.Errorf("in the container: %q", got)
	}
	// Unknown users and missing streams are bad input.
	if err := c.StreamIn(ctx, "/tmp", "nobody-here", bytes.NewReader(nil)); !errors.Is(err, containerd.ErrInvalid) {
		t.Errorf("unknown user: %v", err)
	}
	if err := c.StreamIn(ctx, "/tmp", "", nil); !errors.Is(err, containerd.ErrInvalid) {
		t.Errorf("nil stream: %v", err)
	}
	// A corrupt archive fails.
	if err := c.StreamIn(ctx, "/tmp/c", "", strings.NewReader(strings.Repeat("x", 1000))); err == nil {
		t.Error("corrupt archive accepted")
	}
	// A cancelled context stops it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.StreamIn(cctx, "/tmp/d", "", bytes.NewReader(makeTar(t, tarEntry{name: "f", typ: tar.TypeReg, body: "x"}))); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// readTar lists an archive as "name type [content|-> link]".
func readTar(t *testing.T, r io.ReadCloser) ([]string, error) {
	t.Helper()
	defer r.Close()
	var out []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		line := fmt.Sprintf("%s %c %o", hdr.Name, hdr.Typeflag, hdr.Mode)
		switch hdr.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				return out, err
			}
			line += " " + string(b)
		case tar.TypeSymlink:
			line += " -> " + hdr.Linkname
		}
		out = append(out, line)
	}
}

func TestStreamOut(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "stream-out-" + streamSuffix()})
	ctx := testCtx(t)
	streamSh(t, c, "mkdir -p /tmp/out/sub && chmod 755 /tmp/out /tmp/out/sub && printf hello > /tmp/out/sub/f && chmod 640 /tmp/out/sub/f && ln -s f /tmp/out/sub/l && printf secret > /tmp/out/root-only && chmod 600 /tmp/out/root-only")

	for _, tc := range []struct {
		src, user string
		want      []string
	}{
		{"/tmp/out/sub/f", "", []string{"f 0 640 hello"}},
		{"/tmp/out/sub", "root", []string{"sub/ 5 755", "sub/f 0 640 hello", "sub/l 2 777 -> f"}},
		{"/tmp/out/sub/", "", []string{"./ 5 755", "./f 0 640 hello", "./l 2 777 -> f"}},
		{"/tmp/out/sub/l", "", []string{"l 2 777 -> f"}},
	} {
		r, err := c.StreamOut(ctx, tc.src, tc.user)
		if err != nil {
			t.Fatalf("StreamOut(%s): %v", tc.src, err)
		}
		got, err := readTar(t, r)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("StreamOut(%s) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}

	if _, err := c.StreamOut(ctx, "/tmp/nope", ""); !errors.Is(err, containerd.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	// As vcap the root-only file cannot be read: the stream fails.
	r, err := c.StreamOut(ctx, "/tmp/out/root-only", "vcap")
	if err != nil {
		t.Fatalf("StreamOut: %v", err)
	}
	if _, err := readTar(t, r); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("vcap reading a root-only file: %v", err)
	}
	// A reader closed early ends the archive's writer.
	r, err = c.StreamOut(ctx, "/", "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
}

// streamSuffix is a random name part: other runs share this machine.
func streamSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
