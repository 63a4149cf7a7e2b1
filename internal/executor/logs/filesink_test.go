package logs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// readRecords reads the JSON lines of path.
func readRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: line %q is not JSON: %v", path, sc.Text(), err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newFileSink(t *testing.T, max int64) (*FileSink, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "logs")
	sink, err := NewFileSink(FileSinkConfig{Dir: dir, MaxFileBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink, dir
}

func TestFileSinkWritesJSONLinesPerInstance(t *testing.T) {
	sink, dir := newFileSink(t, 0)
	s, err := New(Config{Sink: sink, Container: "guid-a", SourceID: "log-guid", SourceName: "CELL", Index: 1,
		Tags: map[string]string{"app_name": "dora"}, RateLimit: Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	s.Line("APP/PROC/WEB", containerd.Stdout, `hello "world"`)
	s.Line("", containerd.Stderr, "bad news")

	recs := readRecords(t, filepath.Join(dir, "guid-a.log"))
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	ts, err := time.Parse(time.RFC3339Nano, recs[0]["time"].(string))
	if err != nil || ts.Before(before) || ts.After(time.Now()) {
		t.Errorf("time %v (%v)", recs[0]["time"], err)
	}
	delete(recs[0], "time")
	want := map[string]any{
		"source_id": "log-guid", "source": "APP/PROC/WEB", "instance": "1", "stream": "OUT",
		"message": `hello "world"`,
		"tags":    map[string]any{"app_name": "dora", "source_id": "log-guid", "instance_id": "1"},
	}
	if !reflect.DeepEqual(recs[0], want) {
		t.Errorf("record\n got %v\nwant %v", recs[0], want)
	}
	if recs[1]["stream"] != "ERR" || recs[1]["source"] != "CELL" || recs[1]["message"] != "bad news" {
		t.Errorf("second record %v", recs[1])
	}
}

func TestFileSinkConcurrentWritersOneFilePerInstance(t *testing.T) {
	sink, dir := newFileSink(t, 0)
	const instances, writers, lines = 4, 3, 300
	var wg sync.WaitGroup
	streamers := make([]*Streamer, instances)
	for i := range instances {
		s, err := New(Config{Sink: sink, Container: fmt.Sprintf("guid-%d", i), SourceID: "app", Index: i, RateLimit: Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		streamers[i] = s
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := containerd.Stdout
				if w%2 == 1 {
					stream = containerd.Stderr
				}
				for n := range lines {
					// Long enough that interleaved writes would show.
					s.Line("APP/PROC/WEB", stream, fmt.Sprintf("w%d n%d %s", w, n, strings.Repeat("x", 500)))
				}
			}()
		}
	}
	wg.Wait()
	if n := sink.OpenFiles(); n != instances {
		t.Errorf("%d open files, want %d", n, instances)
	}
	for i, s := range streamers {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		recs := readRecords(t, filepath.Join(dir, fmt.Sprintf("guid-%d.log", i)))
		if len(recs) != writers*lines {
			t.Errorf("instance %d: %d records, want %d", i, len(recs), writers*lines)
		}
		next := make([]int, writers)
		for _, r := range recs {
			if r["instance"] != fmt.Sprint(i) {
				t.Fatalf("instance %d's file has %v", i, r)
			}
			var w, n int
			if _, err := fmt.Sscanf(r["message"].(string), "w%d n%d", &w, &n); err != nil {
				t.Fatalf("message %q", r["message"])
			}
			if n != next[w] {
				t.Fatalf("instance %d writer %d: line %d after %d", i, w, n, next[w]-1)
			}
			next[w]++
		}
	}
	if n := sink.OpenFiles(); n != 0 {
		t.Errorf("%d files open after every streamer closed", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != instances {
		t.Errorf("%d files in the directory, want %d", len(entries), instances)
	}
}

func TestFileSinkReopensAfterCloseAndAppends(t *testing.T) {
	sink, dir := newFileSink(t, 0)
	e := Entry{Time: time.Now(), Container: "guid-r", SourceName: "LOG", Message: "one"}
	if err := sink.Write(e); err != nil {
		t.Fatal(err)
	}
	if err := sink.CloseInstance("guid-r"); err != nil {
		t.Fatal(err)
	}
	if err := sink.CloseInstance("guid-r"); err != nil {
		t.Fatal(err)
	}
	if sink.OpenFiles() != 0 {
		t.Fatal("file still open")
	}
	e.Message = "two"
	if err := sink.Write(e); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, filepath.Join(dir, "guid-r.log"))
	if len(recs) != 2 || recs[0]["message"] != "one" || recs[1]["message"] != "two" {
		t.Errorf("records %v", recs)
	}
}

func TestFileSinkBoundsAFile(t *testing.T) {
	const max = 4096
	sink, dir := newFileSink(t, max)
	s, err := New(Config{Sink: sink, Container: "guid-b", SourceID: "app", RateLimit: Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 200 {
		s.Line("", containerd.Stdout, fmt.Sprintf("line %03d %s", n, strings.Repeat("y", 100)))
	}
	path := filepath.Join(dir, "guid-b.log")
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max {
			t.Errorf("%s: %d bytes, over %d", p, st.Size(), max)
		}
	}
	// The newest lines are kept, in order, across the two files.
	recs := append(readRecords(t, path+".1"), readRecords(t, path)...)
	last := recs[len(recs)-1]["message"].(string)
	if !strings.HasPrefix(last, "line 199 ") {
		t.Errorf("last line %q", last[:12])
	}
	for i := 1; i < len(recs); i++ {
		a, b := recs[i-1]["message"].(string)[:8], recs[i]["message"].(string)[:8]
		if a >= b {
			t.Fatalf("out of order: %q then %q", a, b)
		}
	}
	// A line bigger than the bound still gets written.
	s.Line("", containerd.Stdout, strings.Repeat("z", 2*max))
	recs = readRecords(t, path)
	if len(recs) != 1 || len(recs[0]["message"].(string)) != 2*max {
		t.Errorf("after a huge line: %d records", len(recs))
	}
}

func TestFileSinkBadConfig(t *testing.T) {
	if _, err := NewFileSink(FileSinkConfig{}); err == nil || !strings.Contains(err.Error(), "needs a directory") {
		t.Errorf("empty dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSink(FileSinkConfig{Dir: file}); err == nil {
		t.Error("a file as directory: no error")
	}
	if _, err := NewFileSink(FileSinkConfig{Dir: t.TempDir(), MaxFileBytes: -1}); err == nil {
		t.Error("negative max: no error")
	}
	sink, _ := newFileSink(t, 0)
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a\x00b"} {
		if err := sink.Write(Entry{Container: bad, Message: "x"}); err == nil {
			t.Errorf("container %q: no error", bad)
		}
	}
}
