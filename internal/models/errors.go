package models

import (
	"errors"
	"fmt"
)

// NewError returns an application error of type t.
func NewError(t Error_Type, msg string) *Error {
	return &Error{Type: t, Message: msg}
}

// The reference's standard errors, with their messages.
var (
	ErrUnknownError               = NewError(Error_UnknownError, "unknown error")
	ErrResourceNotFound           = NewError(Error_ResourceNotFound, "the requested resource could not be found")
	ErrResourceExists             = NewError(Error_ResourceExists, "the requested resource already exists")
	ErrResourceConflict           = NewError(Error_ResourceConflict, "the requested resource is in a conflicting state")
	ErrBadRequest                 = NewError(Error_InvalidRequest, "the request received is invalid")
	ErrDeadlock                   = NewError(Error_Deadlock, "the request failed due to deadlock")
	ErrFailedToOpenEnvelope       = NewError(Error_FailedToOpenEnvelope, "could not open envelope")
	ErrActualLRPCannotBeClaimed   = NewError(Error_ActualLRPCannotBeClaimed, "cannot claim actual LRP")
	ErrActualLRPCannotBeStarted   = NewError(Error_ActualLRPCannotBeStarted, "cannot start actual LRP")
	ErrActualLRPCannotBeCrashed   = NewError(Error_ActualLRPCannotBeCrashed, "cannot crash actual LRP")
	ErrActualLRPCannotBeFailed    = NewError(Error_ActualLRPCannotBeFailed, "cannot fail actual LRP")
	ErrActualLRPCannotBeRemoved   = NewError(Error_ActualLRPCannotBeRemoved, "cannot remove actual LRP")
	ErrActualLRPCannotBeUnclaimed = NewError(Error_ActualLRPCannotBeUnclaimed, "cannot unclaim actual LRP")
	ErrGUIDGeneration             = NewError(Error_GUIDGeneration, "cannot generate random guid")
	ErrDeserialize                = NewError(Error_Deserialize, "could not deserialize record")
	ErrLockCollision              = NewError(Error_LockCollision, "lock already exists")
	ErrTimeout                    = NewError(Error_Timeout, "Timeout exceeded")
)

// Is makes errors.Is(err, ErrResourceNotFound) match any error of the same
// type, whatever its message.
func (x *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	if x == nil || t == nil {
		return x == t
	}
	return x.GetType() == t.GetType()
}

// Equal reports whether two errors have the same type and message.
func (x *Error) Equal(o *Error) bool {
	if x == nil || o == nil {
		return x == o
	}
	return x.GetType() == o.GetType() && x.GetMessage() == o.GetMessage()
}

// ErrInvalidStateTransition is the task error "Cannot transition from X to Y".
func ErrInvalidStateTransition(from, to Task_State) *Error {
	return NewError(Error_InvalidStateTransition, fmt.Sprintf("Cannot transition from %s to %s", from, to))
}

// ErrRunningOnDifferentCell is the CompleteTask error when the task runs on
// actualCell and the request came from requestCell.
func ErrRunningOnDifferentCell(requestCell, actualCell string) *Error {
	return NewError(Error_RunningOnDifferentCell, fmt.Sprintf("Running on cell %s not %s", actualCell, requestCell))
}

// ErrUnrecoverable wraps a storage failure the server cannot continue after.
func ErrUnrecoverable(err error) *Error {
	return NewError(Error_Unrecoverable, "Unrecoverable Error: "+err.Error())
}

// ConvertError returns err as an application error: itself if it is one,
// an UnknownError carrying its text otherwise, nil for nil.
func ConvertError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return NewError(Error_UnknownError, err.Error())
}
