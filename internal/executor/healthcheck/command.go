package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/diego-go/diego/internal/clock"
)

// Options are the command-line flags; names and defaults are the
// reference's.
type Options struct {
	Network            string
	URI                string
	Port               string
	Timeout            time.Duration
	StartupInterval    time.Duration
	StartupTimeout     time.Duration
	LivenessInterval   time.Duration
	ReadinessInterval  time.Duration
	UntilReadyInterval time.Duration
}

// Mode is what the binary does with its checks.
type Mode int

// The modes, chosen by the first interval flag set in this order.
const (
	// Once checks one time.
	Once Mode = iota
	// Startup checks every startup interval until a check passes (exit 0)
	// or the startup timeout passes (exit with the last failure).
	Startup
	// Liveness checks every liveness interval until one fails.
	Liveness
	// Readiness checks every readiness interval until one fails.
	Readiness
	// UntilReady checks every until-ready interval until one passes.
	UntilReady
)

// Mode returns the mode the options select.
func (o Options) Mode() Mode {
	switch {
	case o.StartupInterval > 0:
		return Startup
	case o.LivenessInterval > 0:
		return Liveness
	case o.ReadinessInterval > 0:
		return Readiness
	case o.UntilReadyInterval > 0:
		return UntilReady
	}
	return Once
}

// ParseFlags parses the command line (without the program name). Errors
// and -h print the usage on stderr; -h returns flag.ErrHelp.
func ParseFlags(name string, args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Network, "network", "tcp", "network of the TCP check's dial (tcp, unix, ...)")
	fs.StringVar(&o.URI, "uri", "", "path to GET for an HTTP check; a TCP check when empty")
	fs.StringVar(&o.Port, "port", "8080", "port to check")
	fs.DurationVar(&o.Timeout, "timeout", time.Second, "bound of one check (dial, or whole HTTP request)")
	fs.DurationVar(&o.StartupInterval, "startup-interval", 0,
		"startup mode: check every interval until a check passes")
	fs.DurationVar(&o.StartupTimeout, "startup-timeout", 60*time.Second,
		"startup mode only: fail with the last check's error when no check passed within this time (0: never)")
	fs.DurationVar(&o.LivenessInterval, "liveness-interval", 0,
		"liveness mode: check every interval, exit non-zero on the first failure")
	fs.DurationVar(&o.ReadinessInterval, "readiness-interval", 0,
		"readiness mode: check every interval, exit non-zero on the first failure")
	fs.DurationVar(&o.UntilReadyInterval, "until-ready-interval", 0,
		"until-ready mode: check every interval, exit 0 on the first success")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return Options{}, err
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"timeout", o.Timeout}, {"startup-interval", o.StartupInterval}, {"startup-timeout", o.StartupTimeout},
		{"liveness-interval", o.LivenessInterval}, {"readiness-interval", o.ReadinessInterval},
		{"until-ready-interval", o.UntilReadyInterval},
	} {
		if d.v < 0 {
			err := fmt.Errorf("-%s must not be negative, got %s", d.flag, d.v)
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return Options{}, err
		}
	}
	return o, nil
}

// Command runs the healthcheck command. The zero value is the binary's
// behaviour except for Stderr, which must be set.
type Command struct {
	// Stderr receives every message.
	Stderr io.Writer
	// Clock drives the intervals and the startup timeout (wall clock if
	// nil); the checks' own timeouts are always real.
	Clock clock.Clock
	// Address picks the address of each check. Nil: the first non-loopback
	// IPv4 address of the machine's interfaces (InterfaceAddress).
	Address func() (string, error)
	// MapPort rewrites the -port value before checking (identity if nil);
	// see ExternalPort.
	MapPort func(port string) string
}

// Run parses args (without the program name), runs the checks and returns
// the exit status. Cancelling ctx ends a loop as an unknown failure.
func (c Command) Run(ctx context.Context, name string, args []string) int {
	opts, err := ParseFlags(name, args, c.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	clk := c.Clock
	if clk == nil {
		clk = clock.New()
	}
	address := c.Address
	if address == nil {
		ifaces, err := net.Interfaces()
		if err != nil {
			fmt.Fprintf(c.Stderr, "Failed to get interfaces: %s\n", err)
			return ExitInterfaces
		}
		address = InterfaceAddress(ifaces, nil, c.Stderr)
	}
	port := opts.Port
	if c.MapPort != nil {
		port = c.MapPort(port)
	}
	check := NewCheck(opts.Network, opts.URI, port, opts.Timeout)
	defer check.Close()
	r := runner{
		stderr: c.Stderr,
		clock:  clk,
		attempt: func() error {
			ip, err := address()
			if err != nil {
				return err
			}
			return check.Run(ctx, ip)
		},
	}
	return r.run(ctx, opts)
}

type runner struct {
	stderr  io.Writer
	clock   clock.Clock
	attempt func() error
}

func (r runner) run(ctx context.Context, o Options) int {
	switch o.Mode() {
	case Startup:
		return r.startup(ctx, o.StartupInterval, o.StartupTimeout)
	case Liveness:
		return r.untilFailure(ctx, o.LivenessInterval, "Liveness check unsuccessful: ")
	case Readiness:
		return r.untilFailure(ctx, o.ReadinessInterval, "Readiness check unsuccessful: ")
	case UntilReady:
		return r.untilReady(ctx, o.UntilReadyInterval)
	}
	if err := r.attempt(); err != nil {
		return r.fail(err)
	}
	return ExitOK
}

// startup starts an attempt at every tick of interval (attempts that last
// longer than the interval skip ticks) until one passes. When timeout (if
// non-zero, counted from the start) passes first, it fails with the last
// finished attempt's error; if none has finished yet it waits for the one
// under way, which its own timeout bounds (the reference would report a nil
// error there).
func (r runner) startup(ctx context.Context, interval, timeout time.Duration) int {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := r.clock.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C()
	}
	ticker := r.clock.NewTicker(interval)
	defer ticker.Stop()
	timedOut := func(attempt int, err error) int {
		fmt.Fprintf(r.stderr, "Timed out after %s (%d attempts) waiting for startup check to succeed: ", timeout, attempt)
		return r.fail(err)
	}
	var last error
	for attempt := 1; ; attempt++ {
		result := make(chan error, 1)
		go func() { result <- r.attempt() }()
		select {
		case err := <-result:
			if err == nil {
				return ExitOK
			}
			last = err
		case <-deadline:
			if last == nil {
				select {
				case last = <-result:
					if last == nil {
						return ExitOK
					}
				case <-ctx.Done():
					return r.fail(ctx.Err())
				}
			}
			return timedOut(attempt, last)
		case <-ctx.Done():
			return r.fail(ctx.Err())
		}
		select {
		case <-ticker.C():
		case <-deadline:
			return timedOut(attempt, last)
		case <-ctx.Done():
			return r.fail(ctx.Err())
		}
	}
}

// untilFailure checks, then waits interval, until a check fails.
func (r runner) untilFailure(ctx context.Context, interval time.Duration, prefix string) int {
	for {
		if err := r.attempt(); err != nil {
			if ctx.Err() != nil {
				return r.fail(ctx.Err())
			}
			fmt.Fprint(r.stderr, prefix)
			return r.fail(err)
		}
		if err := r.sleep(ctx, interval); err != nil {
			return r.fail(err)
		}
	}
}

// untilReady checks, then waits interval, until a check passes; failures
// print nothing.
func (r runner) untilReady(ctx context.Context, interval time.Duration) int {
	for {
		if r.attempt() == nil {
			return ExitOK
		}
		if err := r.sleep(ctx, interval); err != nil {
			return r.fail(err)
		}
	}
}

func (r runner) sleep(ctx context.Context, d time.Duration) error {
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail prints err's message and returns its exit code.
func (r runner) fail(err error) int {
	var hcErr *Error
	if errors.As(err, &hcErr) {
		fmt.Fprintf(r.stderr, "%s\n", hcErr.Message)
		return hcErr.Code
	}
	fmt.Fprintf(r.stderr, "Unknown error encountered in healthcheck: %s\n", err)
	return ExitUnknownError
}

// ExternalPort returns a MapPort for the reference's "external" build
// (cells where the check cannot reach the container port directly): a port
// that is the internal port of an entry of cfInstancePorts (the
// CF_INSTANCE_PORTS JSON) becomes that entry's external port. Unparsable
// JSON maps nothing.
func ExternalPort(cfInstancePorts string) func(string) string {
	var mappings []struct {
		Internal int `json:"internal"`
		External int `json:"external"`
	}
	_ = json.Unmarshal([]byte(cfInstancePorts), &mappings) // the reference ignores bad JSON too
	return func(port string) string {
		out := port
		for _, m := range mappings {
			if strconv.Itoa(m.Internal) == port {
				out = strconv.Itoa(m.External)
			}
		}
		return out
	}
}
