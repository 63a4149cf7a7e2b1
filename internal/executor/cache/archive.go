package cache

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// ErrUnknownArchiveFormat: a download that is neither a tar, a gzipped
// tar nor a zip archive.
var ErrUnknownArchiveFormat = errors.New("unknown archive format")

// toTar writes the archive src as a plain tar to dst (created), as the
// reference's cache does: a tar is kept as is, gzip is uncompressed, a zip
// is converted entry by entry. It returns dst's size.
func toTar(src, dst string) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		if errors.Is(err, io.EOF) {
			return 0, ErrUnknownArchiveFormat
		}
		return 0, err
	}
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	switch {
	case isTar(head):
		_, err = io.Copy(out, f)
	case http.DetectContentType(head) == "application/x-gzip":
		err = gunzip(out, f)
	case http.DetectContentType(head) == "application/zip":
		err = zipToTar(out, f)
	default:
		err = ErrUnknownArchiveFormat
	}
	if err != nil {
		return 0, err
	}
	st, err := out.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), out.Close()
}

// isTar looks for the ustar magic of POSIX ("ustar\0") and GNU ("ustar ")
// archives.
func isTar(head []byte) bool {
	if len(head) < 263 {
		return false
	}
	magic := head[257:263]
	return bytes.Equal(magic, []byte("ustar\x00")) || bytes.Equal(magic, []byte("ustar "))
}

func gunzip(w io.Writer, r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	defer zr.Close()
	_, err = io.Copy(w, zr) //nolint:gosec // the container's disk limit bounds what it receives
	return err
}

func zipToTar(w io.Writer, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, e := range zr.File {
		if err := zipEntry(tw, e); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return tw.Close()
}

func zipEntry(tw *tar.Writer, e *zip.File) error {
	info := e.FileInfo()
	rc, err := e.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	link := ""
	if info.Mode()&os.ModeSymlink != 0 {
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		link = string(b)
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = e.Name // FileInfoHeader keeps the base name only
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg {
		_, err = io.Copy(tw, rc) //nolint:gosec // as gunzip
	}
	return err
}
