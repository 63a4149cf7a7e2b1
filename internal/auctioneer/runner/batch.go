package runner

import (
	"sync"

	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
)

// Batch is the work waiting for the next round (§1.3): every accepted
// request is turned into auctions at once (one per LRP index, one per
// task) and appended; the runner drains the whole batch at each round.
// There is no timer: a batch is what arrived while the previous round ran.
// Safe for concurrent use.
type Batch struct {
	mu    sync.Mutex
	lrps  []lrpEntry
	tasks []taskEntry
	// wake holds at most one token, the trace id of the first request
	// since the last drain.
	wake chan string
}

// lrpEntry is an LRP instance waiting in the batch, with the rounds it
// already went through without being started (a rep refused it, or its
// /work call failed).
type lrpEntry struct {
	lrp      auction.LRP
	attempts int
}

type taskEntry struct {
	task     auction.Task
	attempts int
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{wake: make(chan string, 1)}
}

// Wake receives a token (a trace id) when the batch holds work.
func (b *Batch) Wake() <-chan string { return b.wake }

// AddLRPStarts queues one auction per index of each start. The starts must
// be valid (LRPStartRequest.Validate). It returns the auctions queued.
func (b *Batch) AddLRPStarts(starts []auctioneerclient.LRPStartRequest, traceID string) int {
	var entries []lrpEntry
	for i := range starts {
		s := &starts[i]
		for _, index := range s.Indices {
			entries = append(entries, lrpEntry{lrp: lrpFromStart(s, index)})
		}
	}
	b.push(entries, nil, traceID, false)
	return len(entries)
}

// AddTasks queues one auction per task. The tasks must be valid
// (TaskStartRequest.Validate). It returns the auctions queued.
func (b *Batch) AddTasks(tasks []auctioneerclient.TaskStartRequest, traceID string) int {
	entries := make([]taskEntry, 0, len(tasks))
	for i := range tasks {
		entries = append(entries, taskEntry{task: taskFromStart(&tasks[i])})
	}
	b.push(nil, entries, traceID, false)
	return len(entries)
}

// requeue puts items back in front of the batch for the next round: they
// are older than anything queued since, and dedupe keeps the first.
func (b *Batch) requeue(lrps []lrpEntry, tasks []taskEntry, traceID string) {
	b.push(lrps, tasks, traceID, true)
}

// push adds entries and wakes the runner. Nothing added, nothing to wake
// for: the reference runs a whole /state round for an empty request.
func (b *Batch) push(lrps []lrpEntry, tasks []taskEntry, traceID string, front bool) {
	if len(lrps) == 0 && len(tasks) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if front {
		b.lrps = append(lrps[:len(lrps):len(lrps)], b.lrps...)
		b.tasks = append(tasks[:len(tasks):len(tasks)], b.tasks...)
	} else {
		b.lrps = append(b.lrps, lrps...)
		b.tasks = append(b.tasks, tasks...)
	}
	select {
	case b.wake <- traceID:
	default:
	}
}

// drain empties the batch and returns its items, the first occurrence of
// each LRP instance (process guid and index) and of each task guid:
// later duplicates are dropped even when they differ (§1.3).
func (b *Batch) drain() ([]lrpEntry, []taskEntry) {
	b.mu.Lock()
	lrps, tasks := b.lrps, b.tasks
	b.lrps, b.tasks = nil, nil
	select {
	case <-b.wake:
	default:
	}
	b.mu.Unlock()

	seenLRP := make(map[auction.LRPKey]struct{}, len(lrps))
	keptL := lrps[:0]
	for _, e := range lrps {
		k := e.lrp.Key()
		if _, dup := seenLRP[k]; dup {
			continue
		}
		seenLRP[k] = struct{}{}
		keptL = append(keptL, e)
	}
	seenTask := make(map[string]struct{}, len(tasks))
	keptT := tasks[:0]
	for _, e := range tasks {
		if _, dup := seenTask[e.task.TaskGuid]; dup {
			continue
		}
		seenTask[e.task.TaskGuid] = struct{}{}
		keptT = append(keptT, e)
	}
	return keptL, keptT
}

// Len returns the number of auctions waiting, duplicates included.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lrps) + len(b.tasks)
}
