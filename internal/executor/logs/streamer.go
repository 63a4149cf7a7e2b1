// Package logs is the executor's log streamer (reference: the executor's
// depot/log_streamer, shared/reference auction-rep-executor.md §4.7): every
// line a container's processes write, and the executor's own messages about
// the container, tagged with the instance's source id, source name, index
// and metric tags, rate limited per instance, and handed to a pluggable
// Sink (FileSink: JSON lines in one file per instance).
package logs

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/executor/containerd"
)

// Names and limits of the reference.
const (
	// DefaultSourceName is the source of a container whose log config
	// names none.
	DefaultSourceName = "LOG"
	// HealthSourceName is the source of health-check output when the check
	// definition names none.
	HealthSourceName = "HEALTH"
	// ProxySourceName is the source of the envoy proxy sidecar.
	ProxySourceName = "PROXY"
	// MaxMessageBytes bounds one entry; longer lines are cut at a UTF-8
	// boundary into several entries.
	MaxMessageBytes = 61440
	// Unlimited is the RateLimit of an instance without a log rate limit.
	Unlimited = -1
	// AppInstanceExceededLogRateLimitCount is the reference's counter of
	// lines over a limit (see Config.OnRateLimitExceeded).
	AppInstanceExceededLogRateLimitCount = "AppInstanceExceededLogRateLimitCount"
)

// Config configures the streamer of one container.
type Config struct {
	// Sink receives the entries (required).
	Sink Sink
	// Container is the container guid (required); the executor's messages
	// name it as the instance.
	Container string
	// CellID names the cell in the executor's messages.
	CellID string
	// SourceID is the log guid, the "source_id" tag unless Tags has one.
	// Empty: the container logs nothing (like the reference, for work
	// without a log guid).
	SourceID string
	// SourceName is the default source name (DefaultSourceName if empty);
	// for an LRP the rep passes the desired LRP's log_source, e.g. CELL.
	SourceName string
	// Index is the instance index, the "instance_id" tag unless Tags has
	// one.
	Index int
	// Tags are the metric tags.
	Tags map[string]string
	// RateLimit is the app's log_rate_limit in bytes per second: Unlimited
	// (-1), 0 (drop every line) or a limit.
	RateLimit int64
	// MaxLinesPerSecond is the operator's limit (max_log_lines_per_second);
	// 0 is none.
	MaxLinesPerSecond int
	// Clock reads the time of entries and drives the rate limit (wall clock
	// if nil).
	Clock clock.Clock
	// Logger records sink failures (none if nil).
	Logger lager.Logger
	// OnRateLimitExceeded, if set, is called (without the streamer's lock)
	// each time a line starts an overage: the reference increments its
	// AppInstanceExceededLogRateLimitCount counter there.
	OnRateLimitExceeded func()
}

// Validate returns an error naming the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Sink == nil:
		return errors.New("logs: a sink is required")
	case c.Container == "":
		return errors.New("logs: the container guid is required")
	case c.Index < 0:
		return fmt.Errorf("logs: instance index must not be negative, got %d", c.Index)
	case c.RateLimit < Unlimited:
		return fmt.Errorf("logs: log rate limit must be -1 (unlimited), 0 or positive, got %d", c.RateLimit)
	case c.MaxLinesPerSecond < 0:
		return fmt.Errorf("logs: max log lines per second must not be negative, got %d", c.MaxLinesPerSecond)
	}
	return nil
}

// Stats are a streamer's counters.
type Stats struct {
	// Lines and Bytes are what reached the sink, the executor's own
	// messages included.
	Lines, Bytes uint64
	// Dropped counts lines dropped by the rate limit or after Close.
	Dropped uint64
	// Exceeded counts overages (lines that went over a limit).
	Exceeded uint64
	// WriteErrors counts entries the sink refused.
	WriteErrors uint64
}

// Streamer tags, limits and forwards the lines of one container. Its
// methods are safe for concurrent use.
type Streamer struct {
	sink       Sink
	container  string
	cellID     string
	sourceName string
	clock      clock.Clock
	logger     lager.Logger
	onExceeded func()
	discard    bool

	mu       sync.Mutex
	base     map[string]string // source_id and instance_id defaults
	tags     map[string]string // read only, replaced by UpdateTags
	sourceID string
	instance string
	limiter  *rateLimiter
	closed   bool
	failing  bool // the last sink write failed
	stats    Stats
	// rateBytes counts the bytes of app lines that passed the limit since
	// the last TakeEmittedBytes.
	rateBytes uint64
}

// New returns the streamer of one container.
func New(cfg Config) (*Streamer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if v, ok := cfg.Sink.(interface{ ValidContainer(string) error }); ok {
		if err := v.ValidContainer(cfg.Container); err != nil {
			return nil, err
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.New()
	}
	s := &Streamer{
		sink:       cfg.Sink,
		container:  cfg.Container,
		cellID:     cfg.CellID,
		sourceName: cfg.SourceName,
		clock:      clk,
		logger:     cfg.Logger,
		onExceeded: cfg.OnRateLimitExceeded,
		discard:    cfg.SourceID == "",
		base:       map[string]string{"source_id": cfg.SourceID, "instance_id": strconv.Itoa(cfg.Index)},
		limiter:    newRateLimiter(cfg.RateLimit, cfg.MaxLinesPerSecond, clk.Now()),
	}
	if s.sourceName == "" {
		s.sourceName = DefaultSourceName
	}
	s.setTags(cfg.Tags)
	return s, nil
}

// SourceName returns the container's default source name.
func (s *Streamer) SourceName() string { return s.sourceName }

// UpdateTags replaces the metric tags (source_id and instance_id keep their
// defaults unless tags name them).
func (s *Streamer) UpdateTags(tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setTags(tags)
}

func (s *Streamer) setTags(tags map[string]string) {
	t := maps.Clone(s.base)
	maps.Copy(t, tags)
	s.tags, s.sourceID, s.instance = t, t["source_id"], t["instance_id"]
}

// Line logs text written by a process of the container on stream, under
// source ("" is the container's default source name). Lines arrive framed;
// a line ending left in text still separates entries, empty lines are
// dropped, and a line longer than MaxMessageBytes becomes several entries.
// Each entry passes the rate limit.
func (s *Streamer) Line(source string, stream containerd.Stream, text string) {
	s.line(source, stream, text, true)
}

// line splits text into entries and emits them, through the rate limit if
// limited.
func (s *Streamer) line(source string, stream containerd.Stream, text string, limited bool) {
	if s.discard {
		return
	}
	if source == "" {
		source = s.sourceName
	}
	for text != "" {
		var piece string
		if i := strings.IndexAny(text, "\n\r"); i >= 0 {
			piece, text = text[:i], text[i+1:]
		} else {
			piece, text = text, ""
		}
		for piece != "" {
			var chunk string
			chunk, piece = cut(piece)
			s.emit(source, stream, chunk, limited)
		}
	}
}

// cut returns the first entry of a line and the rest: at most
// MaxMessageBytes, ending at a rune boundary (backing off at most 3 bytes,
// so that invalid UTF-8 is still cut).
func cut(line string) (string, string) {
	if len(line) <= MaxMessageBytes {
		return line, ""
	}
	end := MaxMessageBytes
	for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(line[end]); back++ {
		end--
	}
	return line[:end], line[end:]
}

func (s *Streamer) emit(source string, stream containerd.Stream, msg string, limited bool) {
	s.mu.Lock()
	if s.closed {
		s.stats.Dropped++
		s.mu.Unlock()
		return
	}
	now := s.clock.Now()
	if limited {
		ok, report := s.limiter.check(now, len(msg))
		if !ok {
			s.stats.Dropped++
			if report == "" {
				s.mu.Unlock()
				return
			}
			s.stats.Exceeded++
			s.writeLocked(Entry{Time: now, SourceName: source, Stream: containerd.Stdout, Message: report})
			s.mu.Unlock()
			if s.onExceeded != nil {
				s.onExceeded()
			}
			return
		}
		s.rateBytes += uint64(len(msg))
	}
	s.writeLocked(Entry{Time: now, SourceName: source, Stream: stream, Message: msg})
	s.mu.Unlock()
}

// writeLocked completes e with the instance's identity and writes it.
func (s *Streamer) writeLocked(e Entry) {
	e.Container, e.SourceID, e.Instance, e.Tags = s.container, s.sourceID, s.instance, s.tags
	if err := s.sink.Write(e); err != nil {
		s.stats.WriteErrors++
		if !s.failing && s.logger != nil {
			s.logger.Error("failed-to-write-log-line", err, lager.Data{"container": s.container})
		}
		s.failing = true
		return
	}
	s.failing = false
	s.stats.Lines++
	s.stats.Bytes += uint64(len(e.Message))
}

// Stats returns the counters.
func (s *Streamer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// TakeEmittedBytes returns the bytes of process lines that passed the rate
// limit since the last call, and starts counting again: the base of the
// reference's app log-rate metric (divide by the report interval).
func (s *Streamer) TakeEmittedBytes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.rateBytes
	s.rateBytes = 0
	return n
}

// Flush asks a buffering sink to write out the container's entries.
func (s *Streamer) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.discard {
		return nil
	}
	if f, ok := s.sink.(Flusher); ok {
		return f.Flush(s.container)
	}
	return nil
}

// Close flushes and releases the container's place in the sink (its file);
// later lines are dropped. Call it when the container is deleted, after its
// last message. Closing twice is harmless.
func (s *Streamer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.discard {
		return nil
	}
	var errs []error
	if f, ok := s.sink.(Flusher); ok {
		errs = append(errs, f.Flush(s.container))
	}
	errs = append(errs, s.sink.CloseInstance(s.container))
	return errors.Join(errs...)
}
