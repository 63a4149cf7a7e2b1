// Package logging builds the lager logger of a daemon from the reference's
// configuration keys (log_level, time_format, redact_secrets,
// max_data_string_length). Unlike the reference it returns an error for a
// bad value instead of panicking.
package logging

import (
	"fmt"
	"io"
	"strings"

	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/lager/v3/lagerflags"
)

// LagerConfig holds the logging keys every daemon config embeds.
type LagerConfig = lagerflags.LagerConfig

// DefaultConfig is info level with unix-epoch timestamps.
func DefaultConfig() LagerConfig { return lagerflags.DefaultLagerConfig() }

// ParseLevel accepts the level names of the reference: debug, info, error,
// fatal. An empty name means info.
func ParseLevel(name string) (lager.LogLevel, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return lager.DEBUG, nil
	case "", "info":
		return lager.INFO, nil
	case "error":
		return lager.ERROR, nil
	case "fatal":
		return lager.FATAL, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, error or fatal)", name)
}

// New returns a logger for component writing lager JSON lines to w, and the
// sink whose level the debug server's /log-level endpoint changes.
func New(component string, cfg LagerConfig, w io.Writer) (lager.Logger, *lager.ReconfigurableSink, error) {
	level, err := ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	var sink lager.Sink
	if cfg.TimeFormat == lagerflags.FormatRFC3339 {
		sink = lager.NewPrettySink(w, lager.DEBUG)
	} else {
		sink = lager.NewWriterSink(w, lager.DEBUG)
	}
	if cfg.RedactSecrets {
		sink, err = lager.NewRedactingSink(sink, nil, cfg.RedactPatterns)
		if err != nil {
			return nil, nil, fmt.Errorf("redact_patterns: %w", err)
		}
	}
	if cfg.MaxDataStringLength > 0 {
		sink = lager.NewTruncatingSink(sink, cfg.MaxDataStringLength)
	}
	logger := lager.NewLogger(component)
	reconfigurable := lager.NewReconfigurableSink(sink, level)
	logger.RegisterSink(reconfigurable)
	return logger, reconfigurable, nil
}
