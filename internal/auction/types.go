// Package auction is the auctioneer's scheduler as pure code: given the
// states of the cells that answered in a round, a batch of LRP instances
// and tasks to start, and the weights, it decides which cell runs what and
// why the rest could not be placed. It does no I/O and keeps no state
// between rounds; the auctioneer daemon fetches /state, calls Schedule,
// posts the resulting Work to the winning cells and reports failures.
//
// The rules are the reference auctioneer's (auction-rep-executor §2): the
// same order of work, compatibility filter, resource fit, score, zone
// balancing and failure messages. Ties the reference breaks by chance are
// broken by the order of the cells given; see README.md for that and for
// every reference quirk kept or fixed.
package auction

// Resources is an amount of memory, disk and container slots. The rep's
// /state carries AvailableResources and TotalResources in this shape.
type Resources struct {
	MemoryMB   int64
	DiskMB     int64
	Containers int64
}

// ProviderKind says how a cell provides root filesystems for one URL scheme.
type ProviderKind int

const (
	// ProviderUnknown matches nothing (the rep sent a type we do not know;
	// the reference auctioneer would crash on it).
	ProviderUnknown ProviderKind = iota
	// ProviderArbitrary matches any root filesystem of its scheme
	// (`{"type":"arbitrary"}`, e.g. docker).
	ProviderArbitrary
	// ProviderFixedSet matches the root filesystems whose URL opaque part is
	// in Set (`{"type":"fixed_set","set":{...}}`, e.g. preloaded stacks).
	ProviderFixedSet
)

// RootFSProvider is one entry of a cell's RootFSProviders.
type RootFSProvider struct {
	Kind ProviderKind
	Set  []string // stacks, for ProviderFixedSet
}

// Cell is a cell's state as the scheduler needs it: what a rep reports on
// GET /state, reduced. Instances counts the LRP containers on the cell by
// process guid, in every state (crashed and completed ones not yet deleted
// count too); Tasks counts the task containers, in every state.
type Cell struct {
	ID        string
	CellIndex int // cell_index; ordering for bin-pack first fit
	Zone      string

	RootFSProviders       map[string]RootFSProvider // by URL scheme
	VolumeDrivers         []string
	PlacementTags         []string // required
	OptionalPlacementTags []string

	Total     Resources
	Available Resources
	// ProxyMemoryMB is added to every LRP's memory on this cell (the
	// rep's ProxyMemoryAllocationMB; 0 unless the Envoy proxy is on).
	ProxyMemoryMB int64

	StartingContainers int            // containers reserved, initializing or created
	Instances          map[string]int // process guid -> LRP containers
	Tasks              int
	Evacuating         bool // evacuating cells take no work and are invisible
}

// Constraint is what a cell must offer an LRP or a task.
type Constraint struct {
	RootFs        string
	PlacementTags []string
	VolumeDrivers []string
}

// LRP is one instance (one index) of a desired LRP to start.
type LRP struct {
	ProcessGuid string
	Index       int
	Domain      string
	Constraint
	MemoryMB int64
	DiskMB   int64
	MaxPids  int64 // carried, never checked or scored (as the reference)
}

// LRPKey names an LRP instance: the batch deduplicates on it.
type LRPKey struct {
	ProcessGuid string
	Index       int
}

// Key returns the instance's key.
func (l *LRP) Key() LRPKey { return LRPKey{l.ProcessGuid, l.Index} }

// Task is one task to start.
type Task struct {
	TaskGuid string
	Domain   string
	Constraint
	MemoryMB int64
	DiskMB   int64
	MaxPids  int64
}

// Request is one round's batch of work.
type Request struct {
	LRPs  []LRP
	Tasks []Task
}

// Options are the auctioneer's weights (auctioneer.json keys in comments).
type Options struct {
	// StartingContainerWeight scores each container starting on a cell
	// (starting_container_weight, default 0.25).
	StartingContainerWeight float64
	// BinPackFirstFitWeight favours cells with a lower index in their zone
	// (bin_pack_first_fit_weight, default 0).
	BinPackFirstFitWeight float64
	// StartingContainerCountMaximum caps the containers starting at once
	// across all cells; 0 or less means no cap
	// (starting_container_count_maximum, default 0).
	StartingContainerCountMaximum int
}

// DefaultOptions are the reference's BOSH defaults.
func DefaultOptions() Options {
	return Options{StartingContainerWeight: 0.25}
}

// The failure messages, exactly as the reference sends them to the BBS.
const (
	MsgRootFSMismatch        = "found no compatible cell for required rootfs"
	MsgVolumeDriverMismatch  = "found no compatible cell with required volume drivers"
	MsgCellCommunication     = "unable to communicate to compatible cells"
	MsgInflightLimit         = "waiting to start instance: reached in-flight start limit"
	MsgInsufficientResources = "insufficient resources"
	// MsgCommitFailed is ours: the reference drops the work of a cell whose
	// /work call failed without a word (see Plan.CommitFailed).
	MsgCommitFailed = "failed to send work to cell"
)

// Cause says why an item failed.
type Cause int

const (
	// CausePlacement: the scheduler found no cell (Error says why).
	CausePlacement Cause = iota
	// CauseRejected: the winning cell refused it in its /work answer.
	CauseRejected
	// CauseCommitFailed: the /work call to the winning cell failed, so the
	// cell may or may not have started it.
	CauseCommitFailed
)

// PlacedLRP is an LRP instance given to a cell.
type PlacedLRP struct {
	LRP
	Cell string
}

// PlacedTask is a task given to a cell.
type PlacedTask struct {
	Task
	Cell string
}

// FailedLRP is an LRP instance not placed, with the placement error.
type FailedLRP struct {
	LRP
	Error string
	Cause Cause
}

// FailedTask is a task not placed, with the rejection reason.
type FailedTask struct {
	Task
	Error string
	Cause Cause
}

// IgnoredCell is a cell left out of the round, and why.
type IgnoredCell struct {
	ID     string
	Reason string
}

// Plan is the outcome of a round. Placements and failures are in the
// order they were decided; every distinct item of the request appears in
// exactly one list.
type Plan struct {
	PlacedLRPs   []PlacedLRP
	PlacedTasks  []PlacedTask
	FailedLRPs   []FailedLRP
	FailedTasks  []FailedTask
	IgnoredCells []IgnoredCell

	cellOrder []string // cells of the round, in tie-break order
}
