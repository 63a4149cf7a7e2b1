package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// FileSinkConfig configures a FileSink.
type FileSinkConfig struct {
	// Dir holds one file per instance, <container guid>.log (created if
	// missing).
	Dir string
	// MaxFileBytes bounds a file: a line that would pass it first moves the
	// file to <container guid>.log.1 (replacing an older one), so an
	// instance keeps at most about twice this much. 0 is no bound.
	MaxFileBytes int64
}

// FileSink appends each instance's entries as JSON lines to a file of its
// own:
//
//	{"time":"…","source_id":"…","source":"APP/PROC/WEB","instance":"0","stream":"OUT","message":"…","tags":{…}}
//
// stream is loggregator's OUT (stdout) or ERR (stderr). A file is opened at
// the instance's first entry and closed by CloseInstance.
type FileSink struct {
	dir string
	max int64

	mu    sync.Mutex
	files map[string]*instanceFile
}

var (
	_ Sink    = (*FileSink)(nil)
	_ Flusher = (*FileSink)(nil)
)

type instanceFile struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	size   int64
	closed bool
}

// record is the JSON form of an entry.
type record struct {
	Time     string            `json:"time"`
	SourceID string            `json:"source_id"`
	Source   string            `json:"source"`
	Instance string            `json:"instance"`
	Stream   string            `json:"stream"`
	Message  string            `json:"message"`
	Tags     map[string]string `json:"tags,omitempty"`
}

// NewFileSink creates the directory if needed.
func NewFileSink(cfg FileSinkConfig) (*FileSink, error) {
	if cfg.Dir == "" {
		return nil, errors.New("logs: the file sink needs a directory")
	}
	if cfg.MaxFileBytes < 0 {
		return nil, fmt.Errorf("logs: max file bytes must not be negative, got %d", cfg.MaxFileBytes)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("logs: creating the log directory: %w", err)
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("logs: log directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("logs: %s is not a directory", cfg.Dir)
	}
	return &FileSink{dir: cfg.Dir, max: cfg.MaxFileBytes, files: map[string]*instanceFile{}}, nil
}

// Path returns the file of a container.
func (s *FileSink) Path(container string) string {
	return filepath.Join(s.dir, container+".log")
}

// Write appends e to its instance's file.
func (s *FileSink) Write(e Entry) error {
	if err := validKey(e.Container); err != nil {
		return err
	}
	line, err := json.Marshal(record{
		Time:     e.Time.UTC().Format(time.RFC3339Nano),
		SourceID: e.SourceID,
		Source:   e.SourceName,
		Instance: e.Instance,
		Stream:   streamName(e.Stream),
		Message:  e.Message,
		Tags:     e.Tags,
	})
	if err != nil {
		return fmt.Errorf("logs: encoding an entry of %s: %w", e.Container, err)
	}
	line = append(line, '\n')
	// A file closed under us (CloseInstance racing a late write) is opened
	// again once.
	for range 2 {
		f, err := s.file(e.Container)
		if err != nil {
			return err
		}
		written, err := f.append(line, s.max)
		if written || err != nil {
			return err
		}
		s.forget(e.Container, f)
	}
	return fmt.Errorf("logs: the file of %s keeps closing", e.Container)
}

// file returns the open file of container, opening it if needed.
func (s *FileSink) file(container string) (*instanceFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[container]; ok {
		return f, nil
	}
	f := &instanceFile{path: s.Path(container)}
	if err := f.open(); err != nil {
		return nil, err
	}
	s.files[container] = f
	return f, nil
}

// forget drops f from the open files if it is still there.
func (s *FileSink) forget(container string, f *instanceFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files[container] == f {
		delete(s.files, container)
	}
}

func (f *instanceFile) open() error {
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("logs: opening %s: %w", f.path, err)
	}
	st, err := file.Stat()
	if err != nil {
		_ = file.Close()
		return fmt.Errorf("logs: %s: %w", f.path, err)
	}
	f.f, f.size = file, st.Size()
	return nil
}

// append writes line, rotating first if it would pass max; written is false
// when the file was closed meanwhile.
func (f *instanceFile) append(line []byte, max int64) (written bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false, nil
	}
	if max > 0 && f.size > 0 && f.size+int64(len(line)) > max {
		if err := f.rotate(); err != nil {
			return true, err
		}
	}
	n, err := f.f.Write(line)
	f.size += int64(n)
	if err != nil {
		return true, fmt.Errorf("logs: writing %s: %w", f.path, err)
	}
	return true, nil
}

// rotate moves the file to <path>.1 and starts an empty one.
func (f *instanceFile) rotate() error {
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("logs: closing %s: %w", f.path, err)
	}
	renameErr := os.Rename(f.path, f.path+".1")
	if err := f.open(); err != nil {
		f.closed = true // nothing to write to; the next write opens again
		return err
	}
	if renameErr != nil {
		return fmt.Errorf("logs: rotating %s: %w", f.path, renameErr)
	}
	return nil
}

func (f *instanceFile) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("logs: closing %s: %w", f.path, err)
	}
	return nil
}

// Flush is a no-op: every entry is written when it arrives.
func (s *FileSink) Flush(string) error { return nil }

// CloseInstance closes the container's file (the file stays).
func (s *FileSink) CloseInstance(container string) error {
	s.mu.Lock()
	f, ok := s.files[container]
	delete(s.files, container)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return f.close()
}

// OpenFiles returns how many instance files are open.
func (s *FileSink) OpenFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// Close closes every file, for the executor's shutdown.
func (s *FileSink) Close() error {
	s.mu.Lock()
	files := s.files
	s.files = map[string]*instanceFile{}
	s.mu.Unlock()
	var errs []error
	for _, f := range files {
		errs = append(errs, f.close())
	}
	return errors.Join(errs...)
}

// ValidContainer returns an error if container cannot name a log file;
// New calls it on a sink that has it.
func (s *FileSink) ValidContainer(container string) error { return validKey(container) }

// validKey refuses container guids that are not a plain file name.
func validKey(container string) error {
	if container == "" || container == "." || container == ".." ||
		strings.ContainsAny(container, "/\\\x00") {
		return fmt.Errorf("logs: container guid %q cannot name a log file", container)
	}
	return nil
}

func streamName(s containerd.Stream) string {
	if s == containerd.Stderr {
		return "ERR"
	}
	return "OUT"
}
