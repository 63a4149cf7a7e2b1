// Package steps is the executor's step tree: what runs in a container once
// it exists (reference §4.4 to §4.6). A Transformer turns a container's
// actions (models.Action: run, download, upload, timeout, try, parallel,
// serial, codependent, emit_progress), its legacy monitor action or its
// declarative check definitions into one Step:
//
//	Serial[ Timed(setup), post-setup hook?, LongLived ]
//	LongLived = action
//	          | Codependent[action, sidecars..., health check?, readiness?]
//
// Running the tree's Step runs the container's processes; its "ready"
// signal (a run step's process started, a health check's startup check
// passed, composites when their children are) is what moves the executor's
// container from created to running, and its result what completes it.
//
// Steps run processes through the small Container interface
// (FromContainerd adapts *containerd.Container), write output lines to a
// Logger, fetch downloads through a Downloader (the cell's cache.Cache) and
// post uploads through an Uploader.
//
// Cancellation goes through the context: cancelling the context of a
// running Step is Garden's interrupt. Run steps SIGTERM their process, then
// SIGKILL it after the graceful shutdown interval; Run returns only when the
// processes it started have exited (or after giving up, ExitTimeoutError).
//
// Deliberate differences from the reference: a cancelled Serial, Try or
// Timed (setup) step waits for its child and returns CancelledError where
// the reference returned success at once; a process created while the step
// is cancelled is stopped rather than left behind; an OutputWrapper passes
// a cancellation through instead of turning it into "Failed to invoke
// process: cancelled"; a liveness check that ends cleanly is "liveness
// check exited" (the reference crashed on it); upload errors never carry
// the URL. Health checks run as processes of the app's container (the
// reference runs them in a sidecar rootfs, outside the app's limits).
package steps

import (
	"context"
	"sync"
)

// Step is one node of the step tree.
//
// Run performs the step and returns nil on success. Cancelling ctx stops
// the step early; it then usually returns a *CancelledError. Run calls
// ready at most once, when the step is ready (see the package doc); ready
// is never nil. A Step holds no state between runs: the same Step may run
// again (the legacy monitor does).
type Step interface {
	Run(ctx context.Context, ready func()) error
}

// StepFunc adapts a function to Step.
type StepFunc func(ctx context.Context, ready func()) error

// Run calls f.
func (f StepFunc) Run(ctx context.Context, ready func()) error { return f(ctx, ready) }

// Nop is a step that is ready at once and succeeds.
var Nop Step = StepFunc(func(_ context.Context, ready func()) error {
	ready()
	return nil
})

// NoReady is a ready callback that does nothing.
func NoReady() {}

// once returns a function that calls f the first time only.
func once(f func()) func() {
	var o sync.Once
	return func() { o.Do(f) }
}

// readyAll returns n callbacks: ready is called once all of them have been.
func readyAll(n int, ready func()) []func() {
	if n == 0 {
		ready()
		return nil
	}
	var mu sync.Mutex
	left := n
	out := make([]func(), n)
	for i := range out {
		out[i] = once(func() {
			mu.Lock()
			left--
			done := left == 0
			mu.Unlock()
			if done {
				ready()
			}
		})
	}
	return out
}
