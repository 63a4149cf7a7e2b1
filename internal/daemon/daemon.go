// Package daemon holds what every daemon's main does the same way: read a
// JSON config file, report a bad one clearly, build the logger, and run an
// ordered ifrit group until a signal or a member's failure ends it.
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"code.cloudfoundry.org/lager/v3"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
	"github.com/tedsuo/ifrit/sigmon"
)

// ExitInvalidConfig is the exit code for a missing, unreadable or invalid
// configuration, as the reference's daemons exit.
const ExitInvalidConfig = 2

// LoadConfig reads the JSON file at path into cfg, which should already hold
// the defaults. Unknown keys are ignored, as the reference does.
func LoadConfig(path string, cfg any) error {
	if path == "" {
		return errors.New("no config file given: use -config FILE")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(cfg); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(data, syn.Offset)
			return fmt.Errorf("%s:%d:%d: %w", path, line, col, err)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return fmt.Errorf("%s: key %q: cannot use JSON %s as %s", path, typ.Field, typ.Value, typ.Type)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the JSON object", path)
	}
	return nil
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// ConfigError reports a configuration problem on stderr the way operators
// grep for it and exits with ExitInvalidConfig.
func ConfigError(component string, err error) {
	fmt.Fprintf(os.Stderr, "%s: invalid-config-file: %v\n", component, err)
	os.Exit(ExitInvalidConfig)
}

// Run starts members in order, each after the previous one is ready, logs
// "started" once all are, and waits. SIGINT and SIGTERM stop the group in
// reverse order. It returns the first member failure, if any.
func Run(logger lager.Logger, members grouper.Members) error {
	group := grouper.NewOrdered(os.Interrupt, members)
	process := ifrit.Invoke(sigmon.New(group))
	select {
	case <-process.Ready():
		logger.Info("started")
	case err := <-process.Wait():
		if err != nil {
			logger.Error("exited-with-failure", err)
		}
		return err
	}
	err := <-process.Wait()
	if err != nil {
		logger.Error("exited-with-failure", err)
		return err
	}
	logger.Info("exited")
	return nil
}

// Closers are what an assembled daemon opened (database pools, locket
// connections), closed in reverse order.
type Closers []func() error

// Add records one more thing to close.
func (c *Closers) Add(close func() error) { *c = append(*c, close) }

// Close closes everything, last opened first, and joins the errors.
func (c Closers) Close() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i]())
	}
	return errors.Join(errs...)
}
