package executor

import "errors"

// The reference executor's errors (their texts reach the rep's logs and
// the BBS).
var (
	ErrContainerGuidNotAvailable      = errors.New("container guid not available")
	ErrInsufficientResourcesAvailable = errors.New("insufficient resources available")
	ErrContainerNotFound              = errors.New("container not found")
	ErrStepsInvalid                   = errors.New("steps invalid")
	ErrLimitsInvalid                  = errors.New("container limits invalid")
	ErrGuidNotSpecified               = errors.New("container guid not specified")
	ErrInvalidTransition              = errors.New("container cannot transition to given state")
	ErrShuttingDown                   = errors.New("executor is shutting down")
)

// Failure reasons of containers the executor completes itself.
const (
	// ReasonStoppedBeforeRunning: stopped before its step tree started.
	ReasonStoppedBeforeRunning = "stopped-before-running"
	// ReasonExpired: reserved but not run within the expiration time.
	ReasonExpired = "expired container"
	// ReasonMissing: created, then gone from the backend.
	ReasonMissing = "missing garden container"
	// reasonCreateFailed prefixes a creation error (retryable).
	reasonCreateFailed = "failed to create container: "
)
