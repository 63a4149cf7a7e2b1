package models

import (
	"math"
	"time"
)

// The states of an actual LRP. They travel as strings, not as an enum.
const (
	ActualLRPStateUnclaimed = "UNCLAIMED"
	ActualLRPStateClaimed   = "CLAIMED"
	ActualLRPStateRunning   = "RUNNING"
	ActualLRPStateCrashed   = "CRASHED"
)

// ActualLRPStates lists every state, in lifecycle order.
var ActualLRPStates = []string{
	ActualLRPStateUnclaimed,
	ActualLRPStateClaimed,
	ActualLRPStateRunning,
	ActualLRPStateCrashed,
}

// Time rules of actual LRPs (reference §4.2, Appendix B).
const (
	// CrashResetTimeout: an instance that was RUNNING for longer than this
	// when it crashed starts counting its crashes again from 1.
	CrashResetTimeout = 5 * time.Minute
	// StaleUnclaimedActualLRPDuration: an UNCLAIMED instance older than this
	// is auctioned again by convergence.
	StaleUnclaimedActualLRPDuration = 30 * time.Second
	// RetireActualLRPRetryAttempts bounds the attempts of a retirement.
	RetireActualLRPRetryAttempts = 5
)

// The restart policy (reference §4.3). Not configurable in the reference.
const (
	DefaultImmediateRestarts  = 3
	DefaultMaxBackoffDuration = 16 * time.Minute
	DefaultMaxRestarts        = 200
	CrashBackoffMinDuration   = 30 * time.Second
)

// RestartCalculator decides when a crashed instance may run again: the
// first crashes restart at once, later ones after an exponential back-off,
// and after too many crashes never.
type RestartCalculator struct {
	// Crash counts below this restart immediately.
	ImmediateRestarts int32
	// The back-off doubles at most this many times.
	MaxBackoffCount int32
	// The back-off never exceeds this.
	MaxBackoffDuration time.Duration
	// Crash counts at or above this never restart.
	MaxRestartAttempts int32
}

// NewDefaultRestartCalculator returns the reference's policy: 3 immediate
// restarts, back-off from 30 s doubling up to 16 min, at most 200 crashes.
func NewDefaultRestartCalculator() RestartCalculator {
	return NewRestartCalculator(DefaultImmediateRestarts, DefaultMaxBackoffDuration, DefaultMaxRestarts)
}

// NewRestartCalculator returns a policy; the number of doublings is derived
// from maxBackoff as floor(log2(ceil(maxBackoff / 30 s))).
func NewRestartCalculator(immediate int32, maxBackoff time.Duration, maxRestarts int32) RestartCalculator {
	return RestartCalculator{
		ImmediateRestarts:  immediate,
		MaxBackoffCount:    maxBackoffCount(maxBackoff),
		MaxBackoffDuration: maxBackoff,
		MaxRestartAttempts: maxRestarts,
	}
}

func maxBackoffCount(maxBackoff time.Duration) int32 {
	steps := math.Ceil(float64(maxBackoff) / float64(CrashBackoffMinDuration))
	if steps < 1 {
		return 0
	}
	return int32(math.Logb(steps))
}

// Backoff is how long an instance with crashCount crashes waits after its
// last crash before it restarts; 0 for the immediate restarts. It is
// meaningless for counts that never restart (see ShouldRestart).
func (r RestartCalculator) Backoff(crashCount int32) time.Duration {
	if crashCount < r.ImmediateRestarts {
		return 0
	}
	doublings := min(crashCount-r.ImmediateRestarts, r.MaxBackoffCount)
	d := CrashBackoffMinDuration
	for i := int32(0); i < doublings && d < r.MaxBackoffDuration; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoffDuration)
}

// ShouldRestart reports whether an instance that crashed for the
// crashCount-th time at crashedAt may restart at now (both Unix
// nanoseconds, like ActualLRP.Since).
func (r RestartCalculator) ShouldRestart(now, crashedAt int64, crashCount int32) bool {
	switch {
	case crashCount < r.ImmediateRestarts:
		return true
	case crashCount < r.MaxRestartAttempts:
		return crashedAt+r.Backoff(crashCount).Nanoseconds() <= now
	}
	return false
}

// ShouldRestartImmediately reports whether a crash bringing the count to
// crashCount sends the instance straight back to UNCLAIMED.
func (r RestartCalculator) ShouldRestartImmediately(crashCount int32) bool {
	return crashCount < r.ImmediateRestarts
}

// CrashOutcome is what one crash report does to an instance.
type CrashOutcome struct {
	// CrashCount is the instance's crash count after this crash.
	CrashCount int32
	// RestartImmediately: the instance goes back to UNCLAIMED (and to the
	// auctioneer) at once instead of waiting in CRASHED for convergence.
	RestartImmediately bool
}

// NextCrash computes the outcome of a crash at now of an instance that has
// been in state since since (Unix nanoseconds) and had crashCount crashes:
// the count restarts at 1 when the instance had been RUNNING for more than
// CrashResetTimeout, and the default calculator decides the restart.
func NextCrash(state string, since int64, crashCount int32, now time.Time) CrashOutcome {
	count := int32(1)
	ranLong := state == ActualLRPStateRunning && now.UnixNano()-since > CrashResetTimeout.Nanoseconds()
	if !ranLong && crashCount < math.MaxInt32 {
		count = max(crashCount, 0) + 1
	}
	return CrashOutcome{
		CrashCount:         count,
		RestartImmediately: NewDefaultRestartCalculator().ShouldRestartImmediately(count),
	}
}

// ShouldRestartCrash reports whether x is CRASHED and due for a restart at
// now under calc (convergence unclaims such rows).
func (x *ActualLRP) ShouldRestartCrash(now time.Time, calc RestartCalculator) bool {
	if x.GetState() != ActualLRPStateCrashed {
		return false
	}
	return calc.ShouldRestart(now.UnixNano(), x.GetSince(), x.GetCrashCount())
}

// ShouldStartUnclaimed reports whether x has been UNCLAIMED for longer than
// StaleUnclaimedActualLRPDuration at now (convergence auctions it again).
func (x *ActualLRP) ShouldStartUnclaimed(now time.Time) bool {
	if x.GetState() != ActualLRPStateUnclaimed {
		return false
	}
	return now.Sub(time.Unix(0, x.GetSince())) > StaleUnclaimedActualLRPDuration
}

// AllowsTransitionTo reports whether the ORDINARY row x may move to
// newState on behalf of the instance ik (reference §4.2). The key must
// match x's (process guid, index and domain); a nil key or instance key
// counts as empty.
//
//	from \ to   UNCLAIMED     CLAIMED    RUNNING    CRASHED
//	UNCLAIMED   yes           any key    any key    no
//	CLAIMED     empty key     same key   any key    same key
//	RUNNING     empty key     same key   same key   same key
//	CRASHED     empty key     same key   same key   no
func (x *ActualLRP) AllowsTransitionTo(key *ActualLRPKey, ik *ActualLRPInstanceKey, newState string) bool {
	if !sameActualLRPKey(x.GetActualLrpKey(), key) {
		return false
	}
	same := sameInstanceKey(x.GetActualLrpInstanceKey(), ik)
	emptyKey := ik.GetInstanceGuid() == "" && ik.GetCellId() == ""
	switch x.GetState() {
	case ActualLRPStateUnclaimed:
		return newState == ActualLRPStateUnclaimed || newState == ActualLRPStateClaimed || newState == ActualLRPStateRunning
	case ActualLRPStateClaimed:
		switch newState {
		case ActualLRPStateUnclaimed:
			return emptyKey
		case ActualLRPStateRunning:
			return true
		case ActualLRPStateClaimed, ActualLRPStateCrashed:
			return same
		}
	case ActualLRPStateRunning:
		switch newState {
		case ActualLRPStateUnclaimed:
			return emptyKey
		case ActualLRPStateClaimed, ActualLRPStateRunning, ActualLRPStateCrashed:
			return same
		}
	case ActualLRPStateCrashed:
		switch newState {
		case ActualLRPStateUnclaimed:
			return emptyKey
		case ActualLRPStateClaimed, ActualLRPStateRunning:
			return same
		}
	}
	return false
}

// Increment advances the tag after an update of its row (presence changes
// excepted). A nil tag is left alone.
func (x *ModificationTag) Increment() {
	if x != nil {
		x.Index++
	}
}

func sameActualLRPKey(a, b *ActualLRPKey) bool {
	return a.GetProcessGuid() == b.GetProcessGuid() && a.GetIndex() == b.GetIndex() && a.GetDomain() == b.GetDomain()
}

func sameInstanceKey(a, b *ActualLRPInstanceKey) bool {
	return a.GetInstanceGuid() == b.GetInstanceGuid() && a.GetCellId() == b.GetCellId()
}
