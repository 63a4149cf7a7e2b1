package logs

import (
	"fmt"
	"time"
)

// overageBlackout is how long every line is dropped after a line exceeded
// a limit (the reference's LogRateLimitExceededLogInterval).
const overageBlackout = time.Second

// bucket is a token bucket that starts full, holds at most burst tokens and
// refills continuously at rate tokens per second: the semantics of the
// golang.org/x/time/rate limiter the reference uses, with the time passed in
// so that a fake clock drives it.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(perSecond int64, now time.Time) *bucket {
	return &bucket{rate: float64(perSecond), burst: float64(perSecond), tokens: float64(perSecond), last: now}
}

// allow takes n tokens if there are that many; n above the burst never
// passes.
func (b *bucket) allow(now time.Time, n int) bool {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// rateLimiter decides, line by line, what an instance may log: the app's
// bytes per second (-1 unlimited, 0 nothing) and the operator's lines per
// second (0 off). A line over a limit is dropped, reported once, and starts
// a blackout of one second during which every line is dropped silently.
type rateLimiter struct {
	bytesPerSecond int64
	linesPerSecond int
	bytes          *bucket // nil: unlimited
	lines          *bucket // nil: off
	lastOverage    time.Time
}

func newRateLimiter(bytesPerSecond int64, linesPerSecond int, now time.Time) *rateLimiter {
	r := &rateLimiter{
		bytesPerSecond: bytesPerSecond,
		linesPerSecond: linesPerSecond,
		lastOverage:    now.Add(-overageBlackout),
	}
	if bytesPerSecond > 0 {
		r.bytes = newBucket(bytesPerSecond, now)
	}
	if linesPerSecond > 0 {
		r.lines = newBucket(int64(linesPerSecond), now)
	}
	return r
}

// check reports whether a line of n bytes may be logged at now; when it
// may not and the line starts an overage, report is the message to send.
func (r *rateLimiter) check(now time.Time, n int) (ok bool, report string) {
	if r.bytesPerSecond == 0 {
		return false, ""
	}
	if r.lastOverage.Add(overageBlackout).After(now) {
		return false, ""
	}
	if r.bytes != nil && !r.bytes.allow(now, n) {
		r.lastOverage = now
		return false, fmt.Sprintf("app instance exceeded log rate limit (%d bytes/sec)", r.bytesPerSecond)
	}
	if r.lines != nil && !r.lines.allow(now, 1) {
		r.lastOverage = now
		return false, fmt.Sprintf("app instance exceeded log rate limit (%d log-lines/sec) set by platform operator", r.linesPerSecond)
	}
	return true, ""
}
