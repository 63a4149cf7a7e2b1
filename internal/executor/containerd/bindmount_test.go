package containerd_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/diego-go/diego/internal/executor/containerd"
)

func TestBindMountsAreReadOnlyOrWritable(t *testing.T) {
	e := newEnv(t)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "tool"), []byte("#!/bin/sh\necho tool ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.create(t, containerd.ContainerSpec{ID: "mounts", BindMounts: []containerd.BindMount{
		{Source: ro, Destination: "/etc/cf-assets/healthcheck", ReadOnly: true},
		{Source: rw, Destination: "/scratch"},
	}})
	st, out := run(t, c, sh("/etc/cf-assets/healthcheck/tool; touch /etc/cf-assets/healthcheck/x || echo ro refused; echo hi > /scratch/f"))
	if st.Code != 0 || !slices.Contains(out, "stdout: tool ran") || !slices.Contains(out, "stdout: ro refused") {
		t.Fatalf("exit %d, output %q", st.Code, out)
	}
	if data, err := os.ReadFile(filepath.Join(rw, "f")); err != nil || string(data) != "hi\n" {
		t.Fatalf("writable mount: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "x")); err == nil {
		t.Fatal("a read-only mount was written")
	}
}

func TestBadBindMountsAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, m := range []containerd.BindMount{
		{Source: "/nonexistent-diego-dir", Destination: "/x"},
		{Source: t.TempDir(), Destination: "relative"},
		{Source: t.TempDir(), Destination: "/"},
		{Source: "relative", Destination: "/x"},
	} {
		_, err := e.b.Create(testCtx(t), containerd.ContainerSpec{ID: "bad-mount", RootFS: stack, BindMounts: []containerd.BindMount{m}})
		if !errors.Is(err, containerd.ErrInvalid) {
			t.Errorf("mount %+v: %v, want ErrInvalid", m, err)
		}
	}
	if ids, _ := e.b.List(testCtx(t)); len(ids) != 0 {
		t.Fatalf("refused creates left %v", ids)
	}
}
