package bbsbench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Metrics reads the Prometheus text of url: each sample by its name with
// labels as printed ("name" or `name{a="b"}`).
func Metrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// Profile is a CPU profile being taken from a debug server.
type Profile struct {
	done chan error
	Path string
}

// StartProfile asks debugURL for a CPU profile of the next d and writes it
// to dir/name.pprof; Wait returns when it is written. Nil when dir is "".
func StartProfile(debugURL string, d time.Duration, dir, name string) *Profile {
	if dir == "" {
		return nil
	}
	p := &Profile{done: make(chan error, 1), Path: filepath.Join(dir, name+".pprof")}
	go func() {
		p.done <- fetchProfile(debugURL, d, p.Path)
	}()
	return p
}

func fetchProfile(debugURL string, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	return fetchTo(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debugURL, secs), d+time.Minute, path)
}

// HeapProfile saves the BBS's heap profile (in use and allocated since
// start) to dir/name.pprof; "" when dir is "".
func HeapProfile(debugURL, dir, name string) string {
	if dir == "" {
		return ""
	}
	path := filepath.Join(dir, name+".pprof")
	if err := fetchTo(debugURL+"/debug/pprof/heap", time.Minute, path); err != nil {
		return fmt.Sprintf("heap profile %s failed: %v", path, err)
	}
	return "heap profile: " + path
}

func fetchTo(url string, timeout time.Duration, path string) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Wait waits for the profile and says where it is (or why it failed).
func (p *Profile) Wait() string {
	if p == nil {
		return ""
	}
	if err := <-p.done; err != nil {
		return fmt.Sprintf("profile %s failed: %v", p.Path, err)
	}
	return "profile: " + p.Path
}

// logLine is the part of a lager JSON line the bench reads.
type logLine struct {
	Timestamp string         `json:"timestamp"`
	Message   string         `json:"message"`
	Data      map[string]any `json:"data"`
}

func (l logLine) time() (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, l.Timestamp); err == nil {
		return t, true
	}
	// unix-epoch format: seconds with a fraction.
	if f, err := strconv.ParseFloat(l.Timestamp, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), true
	}
	return time.Time{}, false
}

// Span is a start and an end time.
type Span struct{ Start, End time.Time }

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// logSpans reads the lager log at path and pairs each line whose message
// ends in startSuffix with the next ending in endSuffix; an unfinished
// span has a zero End.
func logSpans(path, startSuffix, endSuffix string) ([]Span, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var spans []Span
	open := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if !strings.Contains(string(b), startSuffix) && !strings.Contains(string(b), endSuffix) {
			continue
		}
		var l logLine
		if json.Unmarshal(b, &l) != nil {
			continue
		}
		t, ok := l.time()
		if !ok {
			continue
		}
		switch {
		case strings.HasSuffix(l.Message, startSuffix):
			spans = append(spans, Span{Start: t})
			open = true
		case strings.HasSuffix(l.Message, endSuffix) && open:
			spans[len(spans)-1].End = t
			open = false
		}
	}
	return spans, sc.Err()
}

// lastLogLine returns the last line of the lager log at path whose
// message ends in suffix.
func lastLogLine(path, suffix string) (logLine, bool) {
	f, err := os.Open(path)
	if err != nil {
		return logLine{}, false
	}
	defer f.Close()
	var last logLine
	found := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), suffix) {
			continue
		}
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasSuffix(l.Message, suffix) {
			last, found = l, true
		}
	}
	return last, found
}
