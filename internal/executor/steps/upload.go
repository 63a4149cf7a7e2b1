package steps

import (
	"archive/tar"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5, as the reference sends
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/models"
)

// Uploader sends a file to a URL and returns the bytes sent.
type Uploader interface {
	Upload(ctx context.Context, file string, to *url.URL) (int64, error)
}

// The upload step's error messages (reference texts).
const (
	errCreateTmpDir    = "Failed to create temp dir"
	errEstablishStream = "Failed to establish stream from container"
	errReadTar         = "Failed to find first item in tar stream"
	errCreateTmpFile   = "Failed to create temp file"
	errCopyStreamToTmp = "Failed to copy stream contents into temp file"
	errParsingURL      = "Failed to parse URL"
	errUpload          = "Failed to upload payload"
)

// UploadStep streams `from` out of the container as its user, keeps the
// first entry of the archive in a temporary file and uploads it to `to`
// (the upload action). It is ready at once, then waits for one of Slots.
// With an artifact it logs `Uploading X...`, `Uploaded X (size)` and its
// failures (`<failure> for X`); the URL is never logged.
type UploadStep struct {
	Container Container
	Action    *models.UploadAction
	Uploader  Uploader
	// TempDir holds the temporary files ("" = the system's).
	TempDir string
	Slots   chan struct{}
	Log     Logger
	Source  string
	Logger  lager.Logger
}

// Run uploads.
func (s *UploadStep) Run(ctx context.Context, ready func()) error {
	ready()
	logger := loggerOr(s.Logger).Session("upload-step", lager.Data{"from": s.Action.GetFrom()})
	if s.Slots != nil {
		select {
		case s.Slots <- struct{}{}:
		case <-ctx.Done():
			return &CancelledError{}
		}
		defer func() { <-s.Slots }()
	}
	logger.Info("upload-starting")
	s.emit("Uploading " + s.Action.GetArtifact() + "...")

	to, err := url.ParseRequestURI(s.Action.GetTo())
	if err != nil {
		logger.Error("failed-to-parse-url", nil) // the URL may hold secrets
		s.emitError(errParsingURL)
		return errors.New("failed to parse upload URL")
	}
	file, err := s.copyOut(ctx, logger)
	if err != nil {
		return err
	}
	defer os.Remove(file)
	n, err := s.Uploader.Upload(ctx, file, to)
	if err != nil {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		logger.Error("failed-to-upload", err)
		s.emitError(errUpload)
		return err
	}
	s.emit(fmt.Sprintf("Uploaded %s (%s)", s.Action.GetArtifact(), ByteSize(uint64(n))))
	logger.Info("upload-successful")
	return nil
}

// copyOut writes the first entry of the archive of `from` to a temporary
// file and returns its name.
func (s *UploadStep) copyOut(ctx context.Context, logger lager.Logger) (string, error) {
	fail := func(what string, err error) (string, error) {
		logger.Error("failed", err, lager.Data{"step": what})
		msg := s.artifactMessage(what)
		s.emitError(what)
		return "", NewEmittableError(err, "%s", msg)
	}
	if s.TempDir != "" {
		if err := os.MkdirAll(s.TempDir, 0o750); err != nil {
			return fail(errCreateTmpDir, err)
		}
	}
	out, err := s.Container.StreamOut(ctx, s.Action.GetFrom(), s.Action.GetUser())
	if err != nil {
		return fail(errEstablishStream, err)
	}
	defer out.Close()
	tr := tar.NewReader(out)
	if _, err := tr.Next(); err != nil {
		return fail(errReadTar, err)
	}
	f, err := os.CreateTemp(s.TempDir, "upload-")
	if err != nil {
		return fail(errCreateTmpFile, err)
	}
	_, err = io.Copy(f, tr) //nolint:gosec // bounded by the container's disk
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fail(errCopyStreamToTmp, err)
	}
	return f.Name(), nil
}

func (s *UploadStep) artifactMessage(msg string) string {
	if a := s.Action.GetArtifact(); a != "" {
		return msg + " for " + a
	}
	return msg
}

func (s *UploadStep) emit(msg string) {
	if s.Action.GetArtifact() != "" {
		s.Log.Line(s.Source, containerd.Stdout, msg)
	}
}

func (s *UploadStep) emitError(msg string) {
	if s.Action.GetArtifact() != "" {
		s.Log.Line(s.Source, containerd.Stderr, s.artifactMessage(msg))
	}
}

// Reference values of the uploader.
const (
	DefaultUploadTimeout  = 10 * time.Minute
	DefaultUploadAttempts = 3
)

// UploadFailedError is an upload answered with a status of 400 or more.
type UploadFailedError struct{ Code int }

func (e *UploadFailedError) Error() string {
	return fmt.Sprintf("Upload failed: Status code %d", e.Code)
}

// HTTPUploader POSTs files as the reference's uploader does: body
// application/octet-stream with Content-Length, Content-MD5 and
// Content-Digest (sha-256) headers; up to Attempts tries; a status of 400
// or more fails.
type HTTPUploader struct {
	Client   *http.Client
	Attempts int
	Logger   lager.Logger
}

// NewHTTPUploader returns an uploader with the reference's client: a
// timeout per upload (DefaultUploadTimeout if 0) and tlsConfig for https.
func NewHTTPUploader(timeout time.Duration, tlsConfig *tls.Config, logger lager.Logger) *HTTPUploader {
	if timeout <= 0 {
		timeout = DefaultUploadTimeout
	}
	return &HTTPUploader{
		Client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout: 10 * time.Second,
				TLSClientConfig:     tlsConfig,
			},
		},
		Attempts: DefaultUploadAttempts,
		Logger:   logger,
	}
}

var _ Uploader = (*HTTPUploader)(nil)

// Upload sends file to u.
func (h *HTTPUploader) Upload(ctx context.Context, file string, u *url.URL) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	md5sum, sha := md5.New(), sha256.New() //nolint:gosec // see import
	size, err := io.Copy(io.MultiWriter(md5sum, sha), f)
	if err != nil {
		return 0, err
	}
	contentMD5 := base64.StdEncoding.EncodeToString(md5sum.Sum(nil))
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sha.Sum(nil)) + ":"
	attempts := max(h.Attempts, 1)
	logger := loggerOr(h.Logger).Session("uploader")
	for attempt := 0; attempt < attempts; attempt++ {
		err = h.attempt(ctx, f, size, contentMD5, digest, u)
		if err == nil || ctx.Err() != nil {
			break
		}
		logger.Error("failed-uploading", err, lager.Data{"attempt": attempt})
	}
	if err != nil {
		// A url.Error names the URL, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("upload %s: %w", strings.ToLower(ue.Op), ue.Err)
		}
		return 0, err
	}
	return size, nil
}

func (h *HTTPUploader) attempt(ctx context.Context, f *os.File, size int64, contentMD5, digest string, u *url.URL) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), io.NopCloser(f))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-MD5", contentMD5)
	req.Header.Set("Content-Digest", digest)
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 400 {
		return &UploadFailedError{Code: resp.StatusCode}
	}
	return nil
}
