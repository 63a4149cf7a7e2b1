package logs

import (
	"sync"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// Entry is one log line of one instance, what loggregator would get as one
// envelope.
type Entry struct {
	Time time.Time
	// Container is the container guid (instance or task guid): the sink's
	// key for the instance.
	Container string
	// SourceID is the "source_id" tag: the log guid unless the tags name
	// another.
	SourceID string
	// SourceName is the source type (LOG, CELL, APP/PROC/WEB, HEALTH, ...).
	SourceName string
	// Instance is the "instance_id" tag: the instance index unless the tags
	// name another.
	Instance string
	// Stream is stdout (loggregator OUT) or stderr (ERR).
	Stream containerd.Stream
	// Message is the line, without its line ending, at most MaxMessageBytes.
	Message string
	// Tags are every tag of the instance, source_id and instance_id
	// included. Read only: entries of one instance share the map.
	Tags map[string]string
}

// Sink receives the entries of every instance of a cell. Write is called
// concurrently for different instances, and for one instance with its
// streamer's lock held (one at a time, in order).
type Sink interface {
	Write(e Entry) error
	// CloseInstance releases what the sink holds for a container once its
	// streamer is closed; no entry of it follows.
	CloseInstance(container string) error
}

// Flusher is a Sink that buffers; Streamer.Flush calls it.
type Flusher interface {
	Flush(container string) error
}

// Discard is a sink that drops everything.
type Discard struct{}

var _ Sink = Discard{}

func (Discard) Write(Entry) error          { return nil }
func (Discard) CloseInstance(string) error { return nil }

// MemorySink keeps every entry in memory, for tests and small tools.
type MemorySink struct {
	mu      sync.Mutex
	entries []Entry
	closed  []string
}

var _ Sink = (*MemorySink)(nil)

func (m *MemorySink) Write(e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *MemorySink) CloseInstance(container string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = append(m.closed, container)
	return nil
}

// Entries returns a copy of the entries written so far, in order.
func (m *MemorySink) Entries() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

// Messages returns the messages written so far, in order.
func (m *MemorySink) Messages() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.Message
	}
	return out
}

// Closed returns the containers closed so far, in order.
func (m *MemorySink) Closed() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.closed...)
}
