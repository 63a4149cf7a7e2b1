package steps

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/executor/cache"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/models"
)

// Downloader fetches a download as a tar stream (cache.Cache).
type Downloader interface {
	Fetch(ctx context.Context, u *url.URL, cacheKey string, sum cache.Checksum) (io.ReadCloser, int64, error)
}

var _ Downloader = (*cache.Cache)(nil)

// maxErrorLine is the longest download error line logged for the app.
const maxErrorLine = 1024

// DownloadStep fetches the action's URL through the cache and extracts it
// into the container at `to` as its user (the download action). It is
// ready at once, then waits for one of Slots (the cell's concurrent
// downloads). With an artifact it logs `Downloading X...` and `Downloaded X
// (size)` (no size when the cache was fresh); failures log and return
// `Downloading X failed` or `Copying X into the container failed: <error>`
// (lines cut at 1024 bytes).
type DownloadStep struct {
	Container  Container
	Action     *models.DownloadAction
	Downloader Downloader
	Slots      chan struct{}
	Log        Logger
	Source     string
	Logger     lager.Logger
}

// Run downloads.
func (s *DownloadStep) Run(ctx context.Context, ready func()) error {
	ready()
	logger := loggerOr(s.Logger).Session("download-step", lager.Data{"to": s.Action.GetTo(), "cache-key": s.Action.GetCacheKey(), "user": s.Action.GetUser()})
	if s.Slots != nil {
		select {
		case s.Slots <- struct{}{}:
		case <-ctx.Done():
			return &CancelledError{}
		}
		defer func() { <-s.Slots }()
	}
	err := s.perform(ctx, logger)
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	return err
}

func (s *DownloadStep) perform(ctx context.Context, logger lager.Logger) error {
	artifact := s.Action.GetArtifact()
	s.emit("Downloading " + artifact + "...")
	tarStream, size, err := s.fetch(ctx, logger)
	if err != nil {
		msg := "Downloading failed"
		if artifact != "" {
			msg = "Downloading " + artifact + " failed"
		}
		s.emitError(msg)
		return NewEmittableError(err, "%s", msg)
	}
	defer tarStream.Close()
	logger.Info("stream-in-starting")
	if err := s.Container.StreamIn(ctx, s.Action.GetTo(), s.Action.GetUser(), tarStream); err != nil {
		logger.Error("stream-in-failed", err)
		msg := fmt.Sprintf("Copying into the container failed: %v", err)
		if artifact != "" {
			msg = fmt.Sprintf("Copying %s into the container failed: %v", artifact, err)
		}
		s.emitError(msg)
		return NewEmittableError(err, "%s", msg)
	}
	logger.Info("stream-in-complete")
	if size != 0 {
		s.emit(fmt.Sprintf("Downloaded %s (%s)", artifact, ByteSize(uint64(size))))
	} else {
		s.emit("Downloaded " + artifact)
	}
	return nil
}

func (s *DownloadStep) fetch(ctx context.Context, logger lager.Logger) (io.ReadCloser, int64, error) {
	u, err := url.ParseRequestURI(s.Action.GetFrom())
	if err != nil {
		logger.Error("parse-request-uri-error", err)
		return nil, 0, err
	}
	r, size, err := s.Downloader.Fetch(ctx, u, s.Action.GetCacheKey(), cache.Checksum{
		Algorithm: s.Action.GetChecksumAlgorithm(),
		Value:     s.Action.GetChecksumValue(),
	})
	if err != nil {
		logger.Error("fetch-failed", err)
		return nil, 0, err
	}
	logger.Info("fetch-complete", lager.Data{"size": size})
	return r, size, nil
}

// emit logs msg on stdout when the action names an artifact.
func (s *DownloadStep) emit(msg string) {
	if s.Action.GetArtifact() != "" {
		s.Log.Line(s.Source, containerd.Stdout, msg)
	}
}

// emitError logs msg on stderr, cut to the reference's 1024 bytes (its
// newline counted).
func (s *DownloadStep) emitError(msg string) {
	const suffix = " (error truncated)"
	if len(msg)+1 > maxErrorLine {
		msg = msg[:maxErrorLine-len(suffix)] + suffix
	}
	s.Log.Line(s.Source, containerd.Stderr, msg)
}

// ByteSize formats a size as the reference does (bytefmt): binary units
// B, K, M, G, T, P, E with one decimal, a trailing ".0" dropped
// ("1.5M", "10K", "512B").
func ByteSize(n uint64) string {
	units := []string{"B", "K", "M", "G", "T", "P", "E"}
	if n == 0 {
		return "0B"
	}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + units[i]
}
