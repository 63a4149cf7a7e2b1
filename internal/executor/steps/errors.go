package steps

import (
	"errors"
	"fmt"
	"strings"
)

// EmittableError is an error whose message may be shown to the app's
// owner (in the app's logs and as the container's failure reason); the
// wrapped error carries the details for the operator.
type EmittableError struct {
	msg     string
	wrapped error
}

// NewEmittableError returns an EmittableError with the message format
// (formatted with args if any), wrapping err (which may be nil).
func NewEmittableError(err error, format string, args ...any) *EmittableError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &EmittableError{msg: msg, wrapped: err}
}

func (e *EmittableError) Error() string { return e.msg }

// Unwrap returns the wrapped error.
func (e *EmittableError) Unwrap() error { return e.wrapped }

// CancelledError: the step was stopped by its context.
type CancelledError struct{}

func (*CancelledError) Error() string { return "cancelled" }

// ExceededGracefulShutdownIntervalError: a cancelled process had to be
// SIGKILLed after the graceful shutdown interval.
type ExceededGracefulShutdownIntervalError struct{}

func (*ExceededGracefulShutdownIntervalError) Error() string {
	return "exceeded graceful shutdown interval"
}

// ExitTimeoutError: a process did not exit even after SIGKILL.
type ExitTimeoutError struct{}

func (*ExitTimeoutError) Error() string { return "process did not exit" }

// ErrCodependentStepExited is a codependent action's result when the first
// of its steps to end succeeded.
var ErrCodependentStepExited = errors.New("Codependent step exited") //nolint:staticcheck // the reference's text

// IsCancelled reports whether err is (or wraps) a CancelledError or an
// ExceededGracefulShutdownIntervalError: the step ended because it was
// stopped.
func IsCancelled(err error) bool {
	var c *CancelledError
	var k *ExceededGracefulShutdownIntervalError
	return errors.As(err, &c) || errors.As(err, &k)
}

// displayable reports whether err's message belongs in an aggregate's
// message: the errors of steps that were only stopped do not.
func displayable(err error) bool {
	switch err.(type) {
	case *CancelledError, *ExceededGracefulShutdownIntervalError:
		return false
	}
	return true
}

// AggregateError is the result of the steps of a parallel or codependent
// step that failed. Its message joins the messages of its errors with "; ",
// leaving out the steps that were only stopped (and empty messages).
type AggregateError struct {
	Errors []error
}

func (a *AggregateError) Error() string {
	var parts []string
	for _, err := range a.Errors {
		if !displayable(err) {
			continue
		}
		if msg := err.Error(); msg != "" {
			parts = append(parts, msg)
		}
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the aggregated errors.
func (a *AggregateError) Unwrap() []error { return a.Errors }

// add appends err, flattening aggregates as the reference's multierror
// does.
func (a *AggregateError) add(err error) {
	if inner, ok := err.(*AggregateError); ok {
		a.Errors = append(a.Errors, inner.Errors...)
		return
	}
	a.Errors = append(a.Errors, err)
}

func (a *AggregateError) orNil() error {
	if len(a.Errors) == 0 {
		return nil
	}
	return a
}
