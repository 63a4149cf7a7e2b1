// Package daemontest builds a daemon's binary once per test binary and runs
// it as a child process with a config file, waiting for its
// "<name>.started" log line, as the daemon tests of every cmd do.
package daemontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the package at pkgDir (e.g. ".") into dir and returns the
// binary's path. Call it from TestMain.
func Build(pkgDir, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkgDir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkgDir, err)
	}
	return bin, nil
}

// Main is a daemon test package's TestMain: it builds the package in the
// current directory as name into a temporary directory, sets *bin to its
// path, runs the tests, removes the directory and exits with their code.
func Main(m *testing.M, name string, bin *string) {
	dir, err := os.MkdirTemp("", name+"-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *bin, err = Build(".", dir, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Process is a running daemon.
type Process struct {
	t      testing.TB
	Name   string
	cmd    *exec.Cmd
	out    *buffer
	errOut *buffer
	done   chan struct{}
	err    error
}

// buffer is a goroutine-safe output buffer.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WriteConfig writes cfg as JSON into a temporary file and returns its path.
func WriteConfig(t testing.TB, cfg any) string {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Start runs bin with args and does not wait for anything. The process is
// killed at the end of the test if still running.
func Start(t testing.TB, name, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, Name: name, cmd: exec.Command(bin, args...), out: &buffer{}, errOut: &buffer{}, done: make(chan struct{})}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.errOut
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, tail(p.out.String()), name, tail(p.errOut.String()))
		}
	})
	return p
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// StartReady starts bin with -config and waits until it logs
// "<name>.started".
func StartReady(t testing.TB, name, bin, configPath string) *Process {
	t.Helper()
	p := Start(t, name, bin, "-config", configPath)
	p.WaitForLog(name+".started", 30*time.Second)
	return p
}

// WaitForLog waits until stdout contains text, failing the test if the
// process exits first or the deadline passes.
func (p *Process) WaitForLog(text string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.out.String(), text) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before logging %q", p.Name, p.err, text)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not log %q within %s", p.Name, text, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stdout and Stderr return what the process wrote so far.
func (p *Process) Stdout() string { return p.out.String() }
func (p *Process) Stderr() string { return p.errOut.String() }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) { _ = p.cmd.Process.Signal(sig) }

// Kill kills the process with SIGKILL and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Exited returns a channel closed when the process ends.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits up to a minute for the exit; it returns the
// exit code.
func (p *Process) Stop() int {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	return p.Wait(time.Minute)
}

// Wait waits for the process to exit and returns its exit code.
func (p *Process) Wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.t.Fatalf("%s did not exit within %s", p.Name, within)
	}
	return p.cmd.ProcessState.ExitCode()
}
