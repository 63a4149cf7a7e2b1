package cfdot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/diego-go/diego/internal/models"
)

// Exit codes, as the reference's scripts expect them.
const (
	ExitOK         = 0
	ExitValidation = 3   // bad arguments, flags or environment
	ExitComponent  = 4   // the BBS answered an error; any locket or rep failure
	ExitOther      = 5   // anything else a command ran into (transport errors, "Cell not found")
	ExitUnexpected = 255 // errors outside the three classes (unknown flags and commands, ...)
)

// Error texts clients match on; they are the reference's.
const (
	msgMissingArguments   = "Missing arguments"
	msgExtraArguments     = "Too many arguments specified"
	msgInvalidProcessGuid = "Process guid should be non empty string"
	msgInvalidIndex       = "Index must be a non-negative integer"
	msgCellNotFound       = "Cell not found"
)

// exitError is an error with the exit code it ends cfdot with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if bbsErr, ok := e.err.(*models.Error); ok {
		return fmt.Sprintf("BBS error\nType %d: %s\nMessage: %s", int32(bbsErr.GetType()), bbsErr.GetType(), bbsErr.GetMessage())
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// validationErr ends cfdot with ExitValidation; the usage follows the
// message.
func validationErr(err error) error { return &exitError{code: ExitValidation, err: err} }

// validationf is validationErr of a formatted message.
func validationf(format string, a ...any) error { return validationErr(fmt.Errorf(format, a...)) }

// commandErr classifies an error a command ran into: an error answered by
// the BBS ends cfdot with ExitComponent, anything else with ExitOther.
func commandErr(err error) error {
	if _, ok := err.(*models.Error); ok {
		return &exitError{code: ExitComponent, err: err}
	}
	return &exitError{code: ExitOther, err: err}
}

// componentErr ends cfdot with ExitComponent: locket and rep failures.
func componentErr(err error) error { return &exitError{code: ExitComponent, err: err} }

// exitCode maps what the command tree returned to the process's exit code.
// Flag values that do not parse are bad input; other errors of the command
// line parser (unknown flags or commands) fall outside the three classes,
// as with the reference.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.Contains(err.Error(), "invalid argument") {
		return ExitValidation
	}
	return ExitUnexpected
}

// showsUsage reports whether the command's usage follows the error: after
// bad input, not after a failure talking to a component.
func showsUsage(err error) bool {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code == ExitValidation
	}
	return !strings.HasPrefix(err.Error(), "unknown command")
}
