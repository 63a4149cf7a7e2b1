package bbsbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a daemon run as a child process with a JSON config, its output
// in a log file, so that its memory and CPU can be read from /proc.
type Proc struct {
	Name    string
	LogPath string
	addr    string // where it listens, when the harness needs it
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startProc writes cfg as JSON into dir and runs bin -config with it.
func startProc(dir, name, bin string, cfg any) (*Proc, error) {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, name+".json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, LogPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, "-config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// WaitForLog waits until the log contains text.
func (p *Proc) WaitForLog(ctx context.Context, text string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if b, err := os.ReadFile(p.LogPath); err == nil && bytes.Contains(b, []byte(text)) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before logging %q; log: %s", p.Name, p.err, text, p.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not log %q within %s; log: %s", p.Name, text, within, p.LogPath)
		}
	}
}

// Stop sends SIGTERM, waits up to a minute, then kills.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Memory is the process's resident memory now and at its peak (VmRSS and
// VmHWM of /proc/<pid>/status), in bytes.
func Memory(pid int) (rss, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak
}

// cpuTime is the user+system CPU time a process has used (from
// /proc/<pid>/stat, in clock ticks of 10 ms); 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: split after its ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUMeter reads the CPU time of the BBS, locket, the database server and
// the bench itself, to say which one a phase kept busy.
type CPUMeter struct {
	pids map[string]int // name -> pid; "bench" is this process
}

// CPUSample is a reading of every process's CPU time.
type CPUSample struct {
	at  time.Time
	cpu map[string]time.Duration
}

// Sample reads every process now, and the whole machine's busy time.
func (m *CPUMeter) Sample() CPUSample {
	s := CPUSample{at: time.Now(), cpu: map[string]time.Duration{"bench": selfCPU(), "machine": machineBusy()}}
	for name, pid := range m.pids {
		s.cpu[name] = cpuTime(pid)
	}
	return s
}

// machineBusy is the CPU time every core spent not idle (/proc/stat).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	var busy int64
	for i, f := range fields[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait, not guest
			busy += v
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

// CPUUse is the cores each process kept busy between two samples.
type CPUUse map[string]float64

// Since returns the cores used from a to now.
func (m *CPUMeter) Since(a CPUSample) CPUUse {
	b := m.Sample()
	wall := b.at.Sub(a.at).Seconds()
	use := CPUUse{}
	if wall <= 0 {
		return use
	}
	for name, t := range b.cpu {
		use[name] = (t - a.cpu[name]).Seconds() / wall
	}
	return use
}

// String lists the cores each process kept busy, and what the rest of the
// machine used: "bbs 1.52, mariadb 0.31, locket 0.01, bench 0.10, others
// 0.02 of 2 cores".
func (u CPUUse) String() string {
	var parts []string
	ours := 0.0
	for _, n := range []string{"bbs", "mariadb", "locket", "bench"} {
		if v, ok := u[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, v))
			ours += v
		}
	}
	return fmt.Sprintf("%s, others %.2f of %d cores", strings.Join(parts, ", "), max(0, u["machine"]-ours), runtime.NumCPU())
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// connectionBudget bounds the client connections the bench may open at
// once: each request in flight holds one (HTTP/1.1), on the bench's side
// and on the BBS's, and both inherit this process's open file limit.
func connectionBudget(want int) (int, string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > uint64(want)+2000 {
		return want, ""
	}
	got := int(lim.Cur) - 2000
	return got, fmt.Sprintf("requests in flight capped at %d (not %d) by the open file limit of %d", got, want, lim.Cur)
}

// raiseFileLimit lifts this process's open file limit (inherited by the
// daemons it starts) so that thousands of client connections fit.
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	next := syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		next = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err2 != nil {
			return errors.Join(err, err2)
		}
	}
	return nil
}
