package devcluster

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Child runs one daemon as a child process. It is an ifrit runner: ready
// when the daemon logs "<name>.started", and on a signal it sends SIGTERM
// and, after StopTimeout, SIGKILL.
type Child struct {
	Name        string
	Path        string
	Args        []string
	LogPath     string
	StartWait   time.Duration
	StopTimeout time.Duration
}

// Run implements ifrit.Runner.
func (c *Child) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logFile, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()

	cmd := exec.Command(c.Path, c.Args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.Name, err)
	}

	started := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		marker := fmt.Sprintf(`"message":"%s.started"`, c.Name)
		r := bufio.NewReader(out)
		seen := false
		for {
			line, err := r.ReadString('\n')
			if len(line) > 0 {
				_, _ = io.WriteString(logFile, line)
				if !seen && strings.Contains(line, marker) {
					seen = true
					close(started)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-copied
		exited <- cmd.Wait()
	}()

	wait := c.StartWait
	if wait == 0 {
		wait = 30 * time.Second
	}
	select {
	case <-started:
		close(ready)
	case err := <-exited:
		return fmt.Errorf("%s exited before it started (see %s): %v", c.Name, c.LogPath, err)
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not log %s.started within %s (see %s)", c.Name, c.Name, wait, c.LogPath)
	case <-signals:
		return c.stop(cmd, exited)
	}

	select {
	case err := <-exited:
		return fmt.Errorf("%s exited (see %s): %v", c.Name, c.LogPath, err)
	case <-signals:
		return c.stop(cmd, exited)
	}
}

func (c *Child) stop(cmd *exec.Cmd, exited <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timeout := c.StopTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within %s and was killed", c.Name, timeout)
	}
}
