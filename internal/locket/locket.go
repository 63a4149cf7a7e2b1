// Package locket holds what the locket server, its storage and its clients
// share: the reference's constants, the stored Lock, the wire errors and the
// mapping between the deprecated type string and the type code.
//
// Vocabulary:
//   - lock: a resource only one owner holds at a time (the active BBS,
//     auctioneer, route-emitter).
//   - presence: the same mechanism used by a cell to say it is alive; its
//     value is the cell's CellPresence JSON.
//   - owner: who holds a resource; the holder's heartbeat is a Lock call
//     with the same owner.
//   - modified index / modified id: a counter bumped by every Lock and a
//     GUID fixed when the row is created; together they tell whether a row
//     changed since it was last seen, which is how expiry avoids deleting a
//     refreshed lock.
package locket

import (
	"time"

	"github.com/diego-go/diego/internal/locket/locketpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Timings of the reference (locket/schema.go).
const (
	DefaultSessionTTL             = 15 * time.Second
	DefaultSessionTTLInSeconds    = int64(15)
	RetryInterval                 = 5 * time.Second
	SQLRetryInterval              = time.Second
	ExpirationMetricsInterval     = 60 * time.Second
	DBHealthCheckTimeout          = 5 * time.Second
	DBHealthCheckInterval         = 10 * time.Second
	DBHealthCheckFailureThreshold = 3
	DefaultDBOperationTimeout     = 10 * time.Second
	// MaxValueLength is the size of the value column.
	MaxValueLength = 4096
	// MaxKeyLength is the size of the path and owner columns.
	MaxKeyLength = 255
)

// The strings stored in the type column.
const (
	LockType     = "lock"
	PresenceType = "presence"
)

// Wire errors with the reference's codes and messages.
var (
	ErrLockCollision    = status.Error(codes.AlreadyExists, "lock-collision")
	ErrInvalidTTL       = status.Error(codes.InvalidArgument, "invalid-ttl")
	ErrInvalidOwner     = status.Error(codes.InvalidArgument, "invalid-owner")
	ErrResourceNotFound = status.Error(codes.NotFound, "resource-not-found")
	ErrInvalidType      = status.Error(codes.NotFound, "invalid-type")
	// ErrInvalidResource answers a Lock or Release without a resource, which
	// crashes the reference server.
	ErrInvalidResource = status.Error(codes.InvalidArgument, "invalid-resource")
)

// Lock is a row of the locks table.
type Lock struct {
	Key           string
	Owner         string
	Value         string
	Type          string // "lock", "presence" or whatever an old writer stored
	ModifiedIndex int64
	ModifiedID    string
	TTLInSeconds  int64
}

// Resource returns the wire form of the row, with both type fields filled.
func (l *Lock) Resource() *locketpb.Resource {
	return &locketpb.Resource{
		Key:      l.Key,
		Owner:    l.Owner,
		Value:    l.Value,
		Type:     l.Type,
		TypeCode: TypeCodeOf(l.Type),
	}
}

// TypeCodeOf maps a stored type string to its code.
func TypeCodeOf(typ string) locketpb.TypeCode {
	switch typ {
	case LockType:
		return locketpb.TypeCode_LOCK
	case PresenceType:
		return locketpb.TypeCode_PRESENCE
	}
	return locketpb.TypeCode_UNKNOWN
}

// TypeOf maps a type code to the stored string. Unknown codes fall back to
// the deprecated string the client sent.
func TypeOf(code locketpb.TypeCode, deprecated string) string {
	switch code {
	case locketpb.TypeCode_LOCK:
		return LockType
	case locketpb.TypeCode_PRESENCE:
		return PresenceType
	}
	return deprecated
}

// ValidTypeCode reports whether code names a lock or a presence. Requests
// are judged by the code alone; the deprecated string is not consulted.
func ValidTypeCode(code locketpb.TypeCode) bool {
	return code == locketpb.TypeCode_LOCK || code == locketpb.TypeCode_PRESENCE
}

// SameVersion reports whether current is the very row seen earlier: same
// owner, same row (modified id) and no Lock call since (modified index).
// Expiry deletes a row only when this holds.
func (l *Lock) SameVersion(current *Lock) bool {
	return l.Owner == current.Owner && l.ModifiedID == current.ModifiedID && l.ModifiedIndex == current.ModifiedIndex
}
