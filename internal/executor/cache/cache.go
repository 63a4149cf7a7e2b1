// Package cache is the cell's download cache (the reference's
// cacheddownloader): what download actions fetch, converted to a tar
// archive, kept in a directory up to a total size.
//
//	Fetch(url, cache key, checksum)
//	   ├─ no key ──────────► GET ─► checksum ─► to tar ─► temp file (removed on Close)
//	   └─ key ─ one fetch per key at a time (the others wait and share it)
//	            cached entry? ─► conditional GET (If-None-Match / If-Modified-Since)
//	                 304 ─► the cached tar
//	                 200 ─► checksum ─► to tar ─► cached if the answer has an ETag or
//	                        Last-Modified (else a temp file), least recently used
//	                        entries not in use evicted to make room
//
// Keys are stored as the md5 of the cache key, as the reference does. The
// checksum (md5, sha1 or sha256 of the downloaded bytes) is verified before
// anything is cached; an entry keeps the three digests of what it was made
// from, so that a later fetch with a checksum is verified against the entry
// too (a mismatch refetches unconditionally). Archives are normalised to tar:
// a tar is kept, gzip is uncompressed, zip converted; anything else fails
// with ErrUnknownArchiveFormat. Failed downloads are retried (4 attempts,
// 0.5 s doubling to 5 s between them) except for checksum failures.
//
// The directory belongs to the cache: New removes whatever in it is not an
// entry of its index file, which is rewritten on every change, so entries
// survive a restart of the cell.
package cache

import (
	"context"
	"crypto/md5" //nolint:gosec // the reference's key hashing, not security
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
)

const (
	indexFile = "index.json"
	tmpName   = "tmp"
)

// Config configures a Cache.
type Config struct {
	// Dir holds the cache (created); it must be the cache's alone.
	Dir string
	// MaxSizeBytes bounds the total size of the cached tar files
	// (max_cache_size_in_bytes). A download larger than it is served but
	// not cached.
	MaxSizeBytes int64
	// TLSConfig is used for https downloads (CA certificates for
	// downloads, skip_cert_verify).
	TLSConfig *tls.Config
	// Client replaces the default HTTP client (then TLSConfig, Timeout and
	// IdleTimeout are not used).
	Client *http.Client
	// Timeout bounds one download attempt (DefaultTimeout); IdleTimeout a
	// read or write without progress (DefaultIdleTimeout).
	Timeout, IdleTimeout time.Duration
	// Attempts is the number of tries of a download (DefaultAttempts);
	// RetryWait the wait after the first failure, doubling up to
	// MaxRetryWait.
	Attempts                int
	RetryWait, MaxRetryWait time.Duration
	Logger                  lager.Logger
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return errors.New("cache: a directory is required")
	}
	if c.MaxSizeBytes < 0 {
		return fmt.Errorf("cache: negative max size %d", c.MaxSizeBytes)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Attempts <= 0 {
		c.Attempts = DefaultAttempts
	}
	if c.RetryWait <= 0 {
		c.RetryWait = DefaultRetryWait
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.Logger == nil {
		c.Logger = lager.NewLogger("cache")
	}
	return nil
}

// Cache is the download cache. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	client *http.Client
	tmpDir string
	logger lager.Logger

	mu      sync.Mutex
	entries map[string]*entry
	flights map[string]*flight
	used    int64
	seq     uint64 // access order, for LRU
}

// entry is a cached tar file.
type entry struct {
	Key          string            `json:"key"`
	File         string            `json:"file"` // name in Dir
	Size         int64             `json:"size"`
	ETag         string            `json:"etag,omitempty"`
	LastModified string            `json:"last_modified,omitempty"`
	Digests      map[string]string `json:"digests"`
	Access       time.Time         `json:"access"`

	seq     uint64
	readers int
	removed bool // out of the index; its file goes with its last reader
}

// flight is the fetch of one key in progress.
type flight struct {
	done  chan struct{}
	entry *entry // the fresh entry, when the fetch cached one
}

// New opens the cache in cfg.Dir, keeping the entries of its index and
// removing everything else there.
func New(cfg Config) (*Cache, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{
		cfg:     cfg,
		client:  cfg.Client,
		tmpDir:  filepath.Join(cfg.Dir, tmpName),
		logger:  cfg.Logger.Session("download-cache"),
		entries: map[string]*entry{},
		flights: map[string]*flight{},
	}
	if c.client == nil {
		c.client = newClient(cfg.Timeout, cfg.IdleTimeout, cfg.TLSConfig)
	}
	if err := c.recover(); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return c, nil
}

// recover loads the index and removes the files it does not list.
func (c *Cache) recover() error {
	if err := os.RemoveAll(c.tmpDir); err != nil {
		return err
	}
	var saved []*entry
	if b, err := os.ReadFile(filepath.Join(c.cfg.Dir, indexFile)); err == nil {
		if err := json.Unmarshal(b, &saved); err != nil {
			c.logger.Info("index-unreadable", lager.Data{"error": err.Error()})
			saved = nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	keep := map[string]bool{indexFile: true}
	for _, e := range saved {
		st, err := os.Stat(filepath.Join(c.cfg.Dir, e.File))
		if err != nil || e.Key == "" || filepath.Base(e.File) != e.File || st.Size() != e.Size {
			continue
		}
		c.seq++
		e.seq = c.seq
		c.entries[e.Key] = e
		c.used += e.Size
		keep[e.File] = true
	}
	names, err := os.ReadDir(c.cfg.Dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !keep[n.Name()] {
			if err := os.RemoveAll(filepath.Join(c.cfg.Dir, n.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(c.tmpDir, 0o750); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoomLocked(0)
	return c.saveLocked()
}

// Fetch returns the download at u as a tar stream, and the number of bytes
// downloaded (0 when the cached copy was fresh). With a cacheKey the
// result is cached; the stream must be closed (an entry being read is
// never evicted). Cancelling ctx cancels the download.
func (c *Cache) Fetch(ctx context.Context, u *url.URL, cacheKey string, sum Checksum) (io.ReadCloser, int64, error) {
	if u == nil {
		return nil, 0, errors.New("cache: no url")
	}
	if sum.isSet() {
		if err := sum.validate(); err != nil {
			return nil, 0, err
		}
	}
	logger := c.logger.Session("fetch", lager.Data{"host": u.Host, "cache-key": cacheKey})
	if cacheKey == "" {
		d, err := c.fetch(ctx, logger, u, nil, sum)
		if err != nil {
			return nil, 0, err
		}
		r, err := c.tempTar(d)
		if err != nil {
			return nil, 0, err
		}
		return r, d.size, nil
	}
	key := hashKey(cacheKey)
	for {
		c.mu.Lock()
		f := c.flights[key]
		if f == nil {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.mu.Unlock()
			return c.lead(ctx, logger, u, key, sum, f)
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("download cancelled: %w", ctx.Err())
		}
		// Share what the fetch just cached, if it matches our checksum.
		c.mu.Lock()
		if e := f.entry; e != nil && !e.removed && sum.check(e.Digests) == nil {
			r, err := c.openLocked(e)
			c.mu.Unlock()
			logger.Info("shared-fetch", lager.Data{"size": e.Size})
			return r, 0, err
		}
		c.mu.Unlock()
	}
}

// lead does the fetch of key for everyone waiting on f.
func (c *Cache) lead(ctx context.Context, logger lager.Logger, u *url.URL, key string, sum Checksum, f *flight) (io.ReadCloser, int64, error) {
	defer func() {
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
	}()
	// The current entry is revalidated only if it matches the checksum; it
	// is held open meanwhile so that it cannot be evicted.
	c.mu.Lock()
	cur := c.entries[key]
	var curReader io.ReadCloser
	if cur != nil && sum.check(cur.Digests) == nil {
		r, err := c.openLocked(cur)
		if err != nil {
			c.removeLocked(cur)
			cur = nil
		} else {
			curReader = r
		}
	} else {
		cur = nil
	}
	c.mu.Unlock()

	d, err := c.fetch(ctx, logger, u, cur, sum)
	if err != nil {
		if curReader != nil {
			curReader.Close()
		}
		return nil, 0, err
	}
	if d.path == "" { // 304: still fresh
		logger.Info("file-found-in-cache", lager.Data{"size": cur.Size})
		f.entry = cur
		return curReader, 0, nil
	}
	if curReader != nil {
		curReader.Close()
	}
	if !d.cacheable() {
		c.mu.Lock()
		if old := c.entries[key]; old != nil {
			c.removeLocked(old)
			_ = c.saveLocked()
		}
		c.mu.Unlock()
		r, err := c.tempTar(d)
		if err != nil {
			return nil, 0, err
		}
		return r, d.size, nil
	}
	r, e, err := c.add(key, d)
	if err != nil {
		return nil, 0, err
	}
	f.entry = e
	return r, d.size, nil
}

// tempTar converts a download to a tar file removed when its reader is
// closed.
func (c *Cache) tempTar(d download) (io.ReadCloser, error) {
	defer os.Remove(d.path)
	t, err := os.CreateTemp(c.tmpDir, "tar-")
	if err != nil {
		return nil, err
	}
	name := t.Name()
	t.Close()
	if _, err := toTar(d.path, name); err != nil {
		os.Remove(name)
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	return &fileReader{File: f, onClose: func() { os.Remove(name) }}, nil
}

// add converts a download to tar and caches it under key (replacing the
// current entry), or serves it uncached when it does not fit.
func (c *Cache) add(key string, d download) (io.ReadCloser, *entry, error) {
	defer os.Remove(d.path)
	t, err := os.CreateTemp(c.cfg.Dir, key+"-")
	if err != nil {
		return nil, nil, err
	}
	name := t.Name()
	t.Close()
	size, err := toTar(d.path, name)
	if err != nil {
		os.Remove(name)
		return nil, nil, err
	}
	if size > c.cfg.MaxSizeBytes {
		c.mu.Lock()
		if old := c.entries[key]; old != nil {
			c.removeLocked(old)
			_ = c.saveLocked()
		}
		c.mu.Unlock()
		c.logger.Info("too-large-to-cache", lager.Data{"size": size, "max": c.cfg.MaxSizeBytes})
		f, err := os.Open(name)
		if err != nil {
			os.Remove(name)
			return nil, nil, err
		}
		return &fileReader{File: f, onClose: func() { os.Remove(name) }}, nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.removeLocked(old)
	}
	c.makeRoomLocked(size)
	e := &entry{
		Key: key, File: filepath.Base(name), Size: size,
		ETag: d.etag, LastModified: d.lastModified, Digests: d.digests,
	}
	c.entries[key] = e
	c.used += size
	r, err := c.openLocked(e)
	if err != nil {
		c.removeLocked(e)
		return nil, nil, err
	}
	if err := c.saveLocked(); err != nil {
		c.logger.Error("saving-index-failed", err)
	}
	return r, e, nil
}

// openLocked opens e for reading and marks it used now.
func (c *Cache) openLocked(e *entry) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(c.cfg.Dir, e.File))
	if err != nil {
		return nil, err
	}
	c.seq++
	e.seq = c.seq
	e.Access = time.Now()
	e.readers++
	return &fileReader{File: f, onClose: func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		e.readers--
		if e.removed && e.readers == 0 {
			os.Remove(filepath.Join(c.cfg.Dir, e.File))
		}
	}}, nil
}

// removeLocked takes e out of the cache; its file goes now or with its
// last reader.
func (c *Cache) removeLocked(e *entry) {
	if c.entries[e.Key] == e {
		delete(c.entries, e.Key)
		c.used -= e.Size
	}
	e.removed = true
	if e.readers == 0 {
		os.Remove(filepath.Join(c.cfg.Dir, e.File))
	}
}

// makeRoomLocked evicts the least recently used entries not being read
// until size more bytes fit (or nothing more can go).
func (c *Cache) makeRoomLocked(size int64) {
	for c.used+size > c.cfg.MaxSizeBytes {
		var oldest *entry
		for _, e := range c.entries {
			if e.readers == 0 && (oldest == nil || e.seq < oldest.seq) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		c.logger.Info("evicting", lager.Data{"key": oldest.Key, "size": oldest.Size})
		c.removeLocked(oldest)
	}
}

// saveLocked writes the index (atomically).
func (c *Cache) saveLocked() error {
	list := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		list = append(list, e)
	}
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.tmpDir, indexFile)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.cfg.Dir, indexFile))
}

// Stats describe the cache's content.
type Stats struct {
	Entries   int
	UsedBytes int64
}

// Stats returns the number of entries and their total size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: len(c.entries), UsedBytes: c.used}
}

func hashKey(k string) string {
	sum := md5.Sum([]byte(k)) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// fileReader is a file that runs onClose once when closed.
type fileReader struct {
	*os.File
	once    sync.Once
	onClose func()
}

func (f *fileReader) Close() error {
	err := f.File.Close()
	f.once.Do(f.onClose)
	return err
}
