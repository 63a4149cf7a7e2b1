package cache

import (
	"bytes"
	"crypto/md5"  //nolint:gosec // md5 is one of the checksum algorithms of the wire
	"crypto/sha1" //nolint:gosec // so is sha1
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Checksum is the checksum a download must have: an algorithm (md5, sha1
// or sha256) and the hex value (optionally in double quotes). The zero
// value checks nothing.
type Checksum struct {
	Algorithm string
	Value     string
}

func (c Checksum) isSet() bool { return c.Algorithm != "" || c.Value != "" }

// ChecksumFailedError is a download whose checksum is not the expected one,
// or a checksum that cannot be checked; its message is the reference's.
type ChecksumFailedError struct {
	Msg, Expected, Received string
}

func (e *ChecksumFailedError) Error() string {
	return fmt.Sprintf("Checksum failed: '%s', expected '%s', got '%s'", e.Msg, e.Expected, e.Received)
}

// validate checks that c names a known algorithm and a well-formed value.
func (c Checksum) validate() error {
	n, ok := hexLen[c.Algorithm]
	if !ok {
		return &ChecksumFailedError{Msg: "algorithm invalid", Expected: "[md5, sha1, sha256]", Received: c.Algorithm}
	}
	v := strings.Trim(c.Value, `"`)
	if _, err := hex.DecodeString(v); err != nil || len(v) != n {
		return &ChecksumFailedError{Msg: "checksum missing or invalid", Expected: "a valid checksum", Received: c.Value}
	}
	return nil
}

// check compares c with the digests of the content (hex, by algorithm).
func (c Checksum) check(digests map[string]string) error {
	if !c.isSet() {
		return nil
	}
	if err := c.validate(); err != nil {
		return err
	}
	want, _ := hex.DecodeString(strings.Trim(c.Value, `"`))
	got, _ := hex.DecodeString(digests[c.Algorithm])
	if !bytes.Equal(want, got) {
		return &ChecksumFailedError{Msg: "checksum mismatch", Expected: c.Value, Received: `"` + digests[c.Algorithm] + `"`}
	}
	return nil
}

var hexLen = map[string]int{"md5": 32, "sha1": 40, "sha256": 64}

// digester computes every supported digest of what is written to it: an
// entry of the cache can then be checked against any of them later.
type digester struct {
	hashes map[string]hash.Hash
	w      io.Writer
}

func newDigester() *digester {
	d := &digester{hashes: map[string]hash.Hash{"md5": md5.New(), "sha1": sha1.New(), "sha256": sha256.New()}} //nolint:gosec // see imports
	ws := make([]io.Writer, 0, len(d.hashes))
	for _, h := range d.hashes {
		ws = append(ws, h)
	}
	d.w = io.MultiWriter(ws...)
	return d
}

func (d *digester) Write(p []byte) (int, error) { return d.w.Write(p) }

func (d *digester) sums() map[string]string {
	out := make(map[string]string, len(d.hashes))
	for alg, h := range d.hashes {
		out[alg] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}
