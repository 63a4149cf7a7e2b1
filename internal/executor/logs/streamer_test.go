package logs

import (
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/executor/containerd"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newStreamer(t *testing.T, mutate func(*Config)) (*Streamer, *MemorySink, *fakeclock.Clock) {
	t.Helper()
	sink := &MemorySink{}
	clk := fakeclock.New(t0)
	cfg := Config{
		Sink:       sink,
		Container:  "instance-guid-1",
		CellID:     "cell-z1-0",
		SourceID:   "log-guid",
		SourceName: "CELL",
		Index:      3,
		Tags:       map[string]string{"app_name": "dora", "space_id": "s1"},
		RateLimit:  Unlimited,
		Clock:      clk,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, sink, clk
}

func TestLinesAreTaggedWithTheInstance(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	s.Line("APP/PROC/WEB", containerd.Stdout, "hello")
	s.Line("", containerd.Stderr, "oops")

	got := sink.Entries()
	wantTags := map[string]string{"app_name": "dora", "space_id": "s1", "source_id": "log-guid", "instance_id": "3"}
	want := []Entry{
		{Time: t0, Container: "instance-guid-1", SourceID: "log-guid", SourceName: "APP/PROC/WEB", Instance: "3",
			Stream: containerd.Stdout, Message: "hello", Tags: wantTags},
		{Time: t0, Container: "instance-guid-1", SourceID: "log-guid", SourceName: "CELL", Instance: "3",
			Stream: containerd.Stderr, Message: "oops", Tags: wantTags},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries\n got %+v\nwant %+v", got, want)
	}
}

func TestDefaultsAndTagOverrides(t *testing.T) {
	s, sink, _ := newStreamer(t, func(c *Config) {
		c.SourceName = ""
		c.Tags = map[string]string{"source_id": "app-guid", "instance_id": "seven"}
	})
	if s.SourceName() != "LOG" {
		t.Errorf("default source %q", s.SourceName())
	}
	s.Line("", containerd.Stdout, "x")
	e := sink.Entries()[0]
	if e.SourceName != "LOG" || e.SourceID != "app-guid" || e.Instance != "seven" {
		t.Errorf("entry %+v", e)
	}

	// New tags replace the old ones; the defaults stay unless named.
	s.UpdateTags(map[string]string{"app_name": "renamed"})
	s.Line("", containerd.Stdout, "y")
	e = sink.Entries()[1]
	want := map[string]string{"app_name": "renamed", "source_id": "log-guid", "instance_id": "3"}
	if !reflect.DeepEqual(e.Tags, want) || e.SourceID != "log-guid" || e.Instance != "3" {
		t.Errorf("after UpdateTags: %+v", e)
	}
	if got := sink.Entries()[0].Tags["app_name"]; got != "" {
		t.Errorf("an earlier entry's tags changed: app_name=%q", got)
	}
}

func TestFraming(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	s.Line("", containerd.Stdout, "")
	s.Line("", containerd.Stdout, "a\nb\r\nc\rd\n")
	s.Line("", containerd.Stdout, "\n\n")
	if got, want := sink.Messages(), []string{"a", "b", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
}

func TestLongLinesAreCutAtRuneBoundaries(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	// "x" first: the two-byte runes then start at odd offsets, so byte
	// 61440 is in the middle of one.
	line := "x" + strings.Repeat("é", 70000)
	s.Line("", containerd.Stdout, line)
	msgs := sink.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d entries, want 3", len(msgs))
	}
	if len(msgs[0]) != MaxMessageBytes-1 || len(msgs[1]) != MaxMessageBytes {
		t.Errorf("entry sizes %d, %d", len(msgs[0]), len(msgs[1]))
	}
	for i, m := range msgs {
		if len(m) > MaxMessageBytes || !utf8.ValidString(m) {
			t.Errorf("entry %d: %d bytes, valid UTF-8 %v", i, len(m), utf8.ValidString(m))
		}
	}
	if strings.Join(msgs, "") != line {
		t.Error("the entries do not add up to the line")
	}

	exact := strings.Repeat("a", MaxMessageBytes)
	s.Line("", containerd.Stdout, exact)
	if got := sink.Messages()[3:]; len(got) != 1 || got[0] != exact {
		t.Errorf("a line of exactly %d bytes gave %d entries", MaxMessageBytes, len(got))
	}

	// Invalid UTF-8 is still cut, at most 3 bytes early.
	binary := strings.Repeat("\x80", MaxMessageBytes+10)
	s.Line("", containerd.Stdout, binary)
	got := sink.Messages()[4:]
	if len(got) != 2 || len(got[0]) != MaxMessageBytes-3 || got[0]+got[1] != binary {
		t.Errorf("binary line: %d entries, first %d bytes", len(got), len(got[0]))
	}
}

func TestByteRateLimit(t *testing.T) {
	var exceeded atomic.Int64
	s, sink, clk := newStreamer(t, func(c *Config) {
		c.RateLimit = 100
		c.OnRateLimitExceeded = func() { exceeded.Add(1) }
	})
	s.Line("APP/PROC/WEB", containerd.Stdout, strings.Repeat("a", 60))
	s.Line("APP/PROC/WEB", containerd.Stderr, strings.Repeat("b", 60)) // 120 > 100: over
	clk.Increment(500 * time.Millisecond)
	s.Line("APP/PROC/WEB", containerd.Stdout, "dropped in the blackout")
	clk.Increment(500 * time.Millisecond)
	s.Line("APP/PROC/WEB", containerd.Stdout, strings.Repeat("c", 90)) // refilled
	s.Line("APP/PROC/WEB", containerd.Stdout, strings.Repeat("d", 10)) // exactly at the limit

	entries := sink.Entries()
	var got []string
	for _, e := range entries {
		got = append(got, e.Stream.String()+" "+e.SourceName+" "+e.Message)
	}
	want := []string{
		"stdout APP/PROC/WEB " + strings.Repeat("a", 60),
		"stdout APP/PROC/WEB app instance exceeded log rate limit (100 bytes/sec)",
		"stdout APP/PROC/WEB " + strings.Repeat("c", 90),
		"stdout APP/PROC/WEB " + strings.Repeat("d", 10),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries\n got %q\nwant %q", got, want)
	}
	if exceeded.Load() != 1 {
		t.Errorf("OnRateLimitExceeded called %d times, want 1", exceeded.Load())
	}
	st := s.Stats()
	if st.Exceeded != 1 || st.Dropped != 2 || st.Lines != 4 {
		t.Errorf("stats %+v", st)
	}
	if n := s.TakeEmittedBytes(); n != 160 {
		t.Errorf("emitted bytes %d, want 160 (the report does not count)", n)
	}
	if n := s.TakeEmittedBytes(); n != 0 {
		t.Errorf("emitted bytes after take %d", n)
	}
}

func TestOneReportPerBlackout(t *testing.T) {
	s, sink, clk := newStreamer(t, func(c *Config) { c.RateLimit = 10 })
	for i := 0; i < 5; i++ {
		s.Line("", containerd.Stdout, "0123456789abcdef") // 16 > 10: never fits
		clk.Increment(400 * time.Millisecond)
	}
	// Reports at t=0 and t=1.2s (t=0.4 and 0.8 are in the first blackout,
	// t=1.6 in the second).
	want := []string{
		"app instance exceeded log rate limit (10 bytes/sec)",
		"app instance exceeded log rate limit (10 bytes/sec)",
	}
	if got := sink.Messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
}

func TestLineRateLimitOfTheOperator(t *testing.T) {
	s, sink, clk := newStreamer(t, func(c *Config) { c.MaxLinesPerSecond = 2 })
	for _, m := range []string{"1", "2", "3", "4"} {
		s.Line("", containerd.Stdout, m)
	}
	clk.Increment(time.Second)
	s.Line("", containerd.Stdout, "5")
	want := []string{"1", "2", "app instance exceeded log rate limit (2 log-lines/sec) set by platform operator", "5"}
	if got := sink.Messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
}

func TestZeroRateLimitDropsEverythingSilently(t *testing.T) {
	s, sink, _ := newStreamer(t, func(c *Config) { c.RateLimit = 0 })
	s.Line("", containerd.Stdout, "app line")
	s.StartingHealthMonitoring()
	s.CreatingContainer() // lifecycle messages are not limited
	if got, want := sink.Messages(), []string{"Cell cell-z1-0 creating container for instance instance-guid-1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	if st := s.Stats(); st.Exceeded != 0 || st.Dropped != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnlimitedPassesEverything(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	line := strings.Repeat("z", 1000)
	for i := 0; i < 2000; i++ {
		s.Line("", containerd.Stdout, line)
	}
	if n := len(sink.Entries()); n != 2000 {
		t.Errorf("%d entries, want 2000", n)
	}
}

func TestExecutorMessages(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	s.CreatingContainer()
	s.FailedToCreateContainer(errors.New("no space"))
	s.CreatedContainer()
	s.StartingHealthMonitoring()
	s.StartupCheckFailed("", 1234567*time.Microsecond, errors.New("failed to make TCP connection to 10.0.0.1:8080: refused"))
	s.ContainerHealthy()
	s.ContainerUnhealthy("MY-HEALTH", errors.New("liveness failed"))
	s.StartingReadinessMonitoring()
	s.ReadinessCheckFailedToRun()
	s.ContainerReady()
	s.ContainerNotReady()
	s.StoppingInstance()
	s.DestroyingContainer()
	s.FailedToDestroyContainer()
	s.DestroyedContainer()

	var got []string
	for _, e := range sink.Entries() {
		got = append(got, e.SourceName+" "+e.Stream.String()+" "+e.Message)
	}
	want := []string{
		"CELL stdout Cell cell-z1-0 creating container for instance instance-guid-1",
		"CELL stderr Cell cell-z1-0 failed to create container for instance instance-guid-1: no space",
		"CELL stdout Cell cell-z1-0 successfully created container for instance instance-guid-1",
		"CELL stdout Starting health monitoring of container",
		"HEALTH stderr failed to make TCP connection to 10.0.0.1:8080: refused",
		"CELL stderr Failed after 1.235s: startup health check never passed.",
		"CELL stdout Container became healthy",
		"MY-HEALTH stderr liveness failed",
		"CELL stderr Container became unhealthy",
		"CELL stdout Starting readiness health monitoring of container",
		"CELL stdout Failed to run the readiness check",
		"CELL stdout Container passed the readiness health check. Container marked ready and added to route pool.",
		"CELL stdout Container failed the readiness health check. Container marked not ready and removed from route pool.",
		"CELL stdout Cell cell-z1-0 stopping instance instance-guid-1",
		"CELL stdout Cell cell-z1-0 destroying container for instance instance-guid-1",
		"CELL stdout Cell cell-z1-0 failed to destroy container for instance instance-guid-1",
		"CELL stdout Cell cell-z1-0 successfully destroyed container for instance instance-guid-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("messages\n got %q\nwant %q", got, want)
	}
	if r := NeverHealthyReason(2500*time.Millisecond, errors.New("x")); r != "Instance never healthy after 2.5s: x" {
		t.Errorf("NeverHealthyReason = %q", r)
	}
	if r := BecameUnhealthyReason(errors.New("y")); r != "Instance became unhealthy: y" {
		t.Errorf("BecameUnhealthyReason = %q", r)
	}
}

func TestWithoutALogGuidNothingIsLogged(t *testing.T) {
	s, sink, _ := newStreamer(t, func(c *Config) { c.SourceID = "" })
	s.Line("", containerd.Stdout, "x")
	s.CreatingContainer()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sink.Entries()) != 0 || len(sink.Closed()) != 0 {
		t.Errorf("entries %v, closed %v", sink.Entries(), sink.Closed())
	}
}

func TestCloseReleasesTheInstanceOnce(t *testing.T) {
	s, sink, _ := newStreamer(t, nil)
	s.Line("", containerd.Stdout, "before")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Line("", containerd.Stdout, "after")
	s.DestroyedContainer()
	if got := sink.Messages(); !reflect.DeepEqual(got, []string{"before"}) {
		t.Errorf("messages %q", got)
	}
	if got := sink.Closed(); !reflect.DeepEqual(got, []string{"instance-guid-1"}) {
		t.Errorf("closed %q", got)
	}
	if st := s.Stats(); st.Dropped != 2 {
		t.Errorf("dropped %d, want 2", st.Dropped)
	}
}

type failingSink struct{ MemorySink }

func (f *failingSink) Write(Entry) error { return errors.New("disk full") }

func TestSinkErrorsAreCounted(t *testing.T) {
	s, _, _ := newStreamer(t, func(c *Config) { c.Sink = &failingSink{} })
	s.Line("", containerd.Stdout, "a")
	s.Line("", containerd.Stdout, "b")
	if st := s.Stats(); st.WriteErrors != 2 || st.Lines != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBadConfig(t *testing.T) {
	fileSink, err := NewFileSink(FileSinkConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	good := Config{Sink: &MemorySink{}, Container: "c", SourceID: "g", RateLimit: Unlimited}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no sink", func(c *Config) { c.Sink = nil }, "a sink is required"},
		{"no container", func(c *Config) { c.Container = "" }, "container guid is required"},
		{"negative index", func(c *Config) { c.Index = -1 }, "index must not be negative"},
		{"rate limit below -1", func(c *Config) { c.RateLimit = -2 }, "log rate limit must be -1 (unlimited), 0 or positive, got -2"},
		{"negative lines", func(c *Config) { c.MaxLinesPerSecond = -1 }, "max log lines per second must not be negative"},
		{"container not a file name", func(c *Config) { c.Sink, c.Container = fileSink, "../escape" }, `container guid "../escape" cannot name a log file`},
	}
	for _, c := range cases {
		cfg := good
		c.mutate(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := New(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}
