package models

import "google.golang.org/protobuf/proto"

// Events of the SSE streams (§2.3): their names, the Event interface the
// hubs carry, and the constructors that build each message from the models
// before and after a change.

// Event names, as the "event:" line of the stream carries them.
const (
	EventTypeDesiredLRPCreated = "desired_lrp_created"
	EventTypeDesiredLRPChanged = "desired_lrp_changed"
	EventTypeDesiredLRPRemoved = "desired_lrp_removed"

	EventTypeActualLRPInstanceCreated = "actual_lrp_instance_created"
	EventTypeActualLRPInstanceChanged = "actual_lrp_instance_changed"
	EventTypeActualLRPInstanceRemoved = "actual_lrp_instance_removed"
	EventTypeActualLRPCrashed         = "actual_lrp_crashed"

	// The group events of the deprecated /v1/events stream.
	EventTypeActualLRPCreated = "actual_lrp_created"
	EventTypeActualLRPChanged = "actual_lrp_changed"
	EventTypeActualLRPRemoved = "actual_lrp_removed"

	EventTypeTaskCreated = "task_created"
	EventTypeTaskChanged = "task_changed"
	EventTypeTaskRemoved = "task_removed"
)

// Event is a message of an event stream.
type Event interface {
	proto.Message
	// EventType is the event's name on the stream.
	EventType() string
	// Key identifies what the event is about: the process guid of desired
	// LRP events, the instance guid of actual LRP events ("" for an
	// unclaimed instance or a group that does not resolve), the task guid
	// of task events.
	Key() string
}

var (
	_ Event = (*DesiredLRPCreatedEvent)(nil)
	_ Event = (*DesiredLRPChangedEvent)(nil)
	_ Event = (*DesiredLRPRemovedEvent)(nil)
	_ Event = (*ActualLRPInstanceCreatedEvent)(nil)
	_ Event = (*ActualLRPInstanceChangedEvent)(nil)
	_ Event = (*ActualLRPInstanceRemovedEvent)(nil)
	_ Event = (*ActualLRPCrashedEvent)(nil)
	_ Event = (*ActualLRPCreatedEvent)(nil)
	_ Event = (*ActualLRPChangedEvent)(nil)
	_ Event = (*ActualLRPRemovedEvent)(nil)
	_ Event = (*TaskCreatedEvent)(nil)
	_ Event = (*TaskChangedEvent)(nil)
	_ Event = (*TaskRemovedEvent)(nil)
)

// NewEventOfType returns an empty event message for an event name, to
// decode a stream's payload into; ok is false for an unknown name.
func NewEventOfType(eventType string) (ev Event, ok bool) {
	switch eventType {
	case EventTypeDesiredLRPCreated:
		return &DesiredLRPCreatedEvent{}, true
	case EventTypeDesiredLRPChanged:
		return &DesiredLRPChangedEvent{}, true
	case EventTypeDesiredLRPRemoved:
		return &DesiredLRPRemovedEvent{}, true
	case EventTypeActualLRPInstanceCreated:
		return &ActualLRPInstanceCreatedEvent{}, true
	case EventTypeActualLRPInstanceChanged:
		return &ActualLRPInstanceChangedEvent{}, true
	case EventTypeActualLRPInstanceRemoved:
		return &ActualLRPInstanceRemovedEvent{}, true
	case EventTypeActualLRPCrashed:
		return &ActualLRPCrashedEvent{}, true
	case EventTypeActualLRPCreated:
		return &ActualLRPCreatedEvent{}, true
	case EventTypeActualLRPChanged:
		return &ActualLRPChangedEvent{}, true
	case EventTypeActualLRPRemoved:
		return &ActualLRPRemovedEvent{}, true
	case EventTypeTaskCreated:
		return &TaskCreatedEvent{}, true
	case EventTypeTaskChanged:
		return &TaskChangedEvent{}, true
	case EventTypeTaskRemoved:
		return &TaskRemovedEvent{}, true
	}
	return nil, false
}

// Desired LRP events. The LRPs are carried as given (not copied).

// NewDesiredLRPCreatedEvent reports a new desired LRP.
func NewDesiredLRPCreatedEvent(d *DesiredLRP, traceID string) *DesiredLRPCreatedEvent {
	return &DesiredLRPCreatedEvent{DesiredLrp: d, TraceId: traceID}
}

// NewDesiredLRPChangedEvent reports an update.
func NewDesiredLRPChangedEvent(before, after *DesiredLRP, traceID string) *DesiredLRPChangedEvent {
	return &DesiredLRPChangedEvent{Before: before, After: after, TraceId: traceID}
}

// NewDesiredLRPRemovedEvent reports a removal.
func NewDesiredLRPRemovedEvent(d *DesiredLRP, traceID string) *DesiredLRPRemovedEvent {
	return &DesiredLRPRemovedEvent{DesiredLrp: d, TraceId: traceID}
}

// EventType implements Event.
func (x *DesiredLRPCreatedEvent) EventType() string { return EventTypeDesiredLRPCreated }

// EventType implements Event.
func (x *DesiredLRPChangedEvent) EventType() string { return EventTypeDesiredLRPChanged }

// EventType implements Event.
func (x *DesiredLRPRemovedEvent) EventType() string { return EventTypeDesiredLRPRemoved }

// Key is the process guid.
func (x *DesiredLRPCreatedEvent) Key() string { return x.GetDesiredLrp().GetProcessGuid() }

// Key is the process guid of the LRP before the change.
func (x *DesiredLRPChangedEvent) Key() string { return x.GetBefore().GetProcessGuid() }

// Key is the process guid.
func (x *DesiredLRPRemovedEvent) Key() string { return x.GetDesiredLrp().GetProcessGuid() }

// Actual LRP instance events.

// NewActualLRPInstanceCreatedEvent reports a new row. The LRP is carried as
// given.
func NewActualLRPInstanceCreatedEvent(lrp *ActualLRP, traceID string) *ActualLRPInstanceCreatedEvent {
	return &ActualLRPInstanceCreatedEvent{ActualLrp: lrp, TraceId: traceID}
}

// NewActualLRPInstanceRemovedEvent reports a deleted row. The LRP is
// carried as given.
func NewActualLRPInstanceRemovedEvent(lrp *ActualLRP, traceID string) *ActualLRPInstanceRemovedEvent {
	return &ActualLRPInstanceRemovedEvent{ActualLrp: lrp, TraceId: traceID}
}

// NewActualLRPInstanceChangedEvent reports a changed row. Its key and
// instance key are the after LRP's when they are not empty, else the
// before LRP's (a key is empty when all its fields are); before and after
// are carried as ActualLRPInfo (nil for a nil LRP).
func NewActualLRPInstanceChangedEvent(before, after *ActualLRP, traceID string) *ActualLRPInstanceChangedEvent {
	key, ikey := &ActualLRPKey{}, &ActualLRPInstanceKey{}
	for _, lrp := range []*ActualLRP{before, after} {
		if k := lrp.GetActualLrpKey(); !emptyLRPKey(k) {
			key = copyLRPKey(k)
		}
		if k := lrp.GetActualLrpInstanceKey(); k.GetInstanceGuid() != "" || k.GetCellId() != "" {
			ikey = copyInstanceKey(k)
		}
	}
	return &ActualLRPInstanceChangedEvent{
		ActualLrpKey:         key,
		ActualLrpInstanceKey: ikey,
		Before:               before.ToActualLRPInfo(),
		After:                after.ToActualLRPInfo(),
		TraceId:              traceID,
	}
}

// NewActualLRPCrashedEvent reports a crash: the key and the crash fields
// (count, reason, since) come from the LRP after the crash, the instance
// key from the LRP before it, since a crashed row no longer has one.
func NewActualLRPCrashedEvent(before, after *ActualLRP) *ActualLRPCrashedEvent {
	return &ActualLRPCrashedEvent{
		ActualLrpKey:         copyLRPKey(after.GetActualLrpKey()),
		ActualLrpInstanceKey: copyInstanceKey(before.GetActualLrpInstanceKey()),
		CrashCount:           after.GetCrashCount(),
		CrashReason:          after.GetCrashReason(),
		Since:                after.GetSince(),
	}
}

// EventType implements Event.
func (x *ActualLRPInstanceCreatedEvent) EventType() string { return EventTypeActualLRPInstanceCreated }

// EventType implements Event.
func (x *ActualLRPInstanceChangedEvent) EventType() string { return EventTypeActualLRPInstanceChanged }

// EventType implements Event.
func (x *ActualLRPInstanceRemovedEvent) EventType() string { return EventTypeActualLRPInstanceRemoved }

// EventType implements Event.
func (x *ActualLRPCrashedEvent) EventType() string { return EventTypeActualLRPCrashed }

// Key is the instance guid.
func (x *ActualLRPInstanceCreatedEvent) Key() string {
	return x.GetActualLrp().GetActualLrpInstanceKey().GetInstanceGuid()
}

// Key is the instance guid.
func (x *ActualLRPInstanceChangedEvent) Key() string {
	return x.GetActualLrpInstanceKey().GetInstanceGuid()
}

// Key is the instance guid.
func (x *ActualLRPInstanceRemovedEvent) Key() string {
	return x.GetActualLrp().GetActualLrpInstanceKey().GetInstanceGuid()
}

// Key is the guid of the instance that crashed.
func (x *ActualLRPCrashedEvent) Key() string {
	return x.GetActualLrpInstanceKey().GetInstanceGuid()
}

// ToActualLRPInfo returns the part of x an instance-changed event carries
// (everything but the keys, internal routes and metric tags), sharing its
// net info and modification tag; nil for nil.
func (x *ActualLRP) ToActualLRPInfo() *ActualLRPInfo {
	if x == nil {
		return nil
	}
	return &ActualLRPInfo{
		ActualLrpNetInfo: x.ActualLrpNetInfo,
		CrashCount:       x.CrashCount,
		CrashReason:      x.CrashReason,
		State:            x.State,
		PlacementError:   x.PlacementError,
		Since:            x.Since,
		ModificationTag:  x.ModificationTag,
		Presence:         x.Presence,
		Routable:         copyBool(x.Routable),
		AvailabilityZone: x.AvailabilityZone,
	}
}

// ToActualLRP rebuilds an ActualLRP from an instance-changed event's info
// and keys, as a client of the stream does; nil for nil.
func (x *ActualLRPInfo) ToActualLRP(key *ActualLRPKey, ikey *ActualLRPInstanceKey) *ActualLRP {
	if x == nil {
		return nil
	}
	return &ActualLRP{
		ActualLrpKey:         copyLRPKey(key),
		ActualLrpInstanceKey: copyInstanceKey(ikey),
		ActualLrpNetInfo:     x.ActualLrpNetInfo,
		CrashCount:           x.CrashCount,
		CrashReason:          x.CrashReason,
		State:                x.State,
		PlacementError:       x.PlacementError,
		Since:                x.Since,
		ModificationTag:      x.ModificationTag,
		Presence:             x.Presence,
		Routable:             copyBool(x.Routable),
		AvailabilityZone:     x.AvailabilityZone,
	}
}

func emptyLRPKey(k *ActualLRPKey) bool {
	return k.GetProcessGuid() == "" && k.GetIndex() == 0 && k.GetDomain() == ""
}

func copyLRPKey(k *ActualLRPKey) *ActualLRPKey {
	return &ActualLRPKey{ProcessGuid: k.GetProcessGuid(), Index: k.GetIndex(), Domain: k.GetDomain()}
}

func copyInstanceKey(k *ActualLRPInstanceKey) *ActualLRPInstanceKey {
	return &ActualLRPInstanceKey{InstanceGuid: k.GetInstanceGuid(), CellId: k.GetCellId()}
}

func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// Deprecated group events (the /v1/events stream).

// NewActualLRPCreatedEvent reports a group that appeared.
func NewActualLRPCreatedEvent(g *ActualLRPGroup) *ActualLRPCreatedEvent {
	return &ActualLRPCreatedEvent{ActualLrpGroup: g}
}

// NewActualLRPChangedEvent reports a group that changed.
func NewActualLRPChangedEvent(before, after *ActualLRPGroup) *ActualLRPChangedEvent {
	return &ActualLRPChangedEvent{Before: before, After: after}
}

// NewActualLRPRemovedEvent reports a group that went away.
func NewActualLRPRemovedEvent(g *ActualLRPGroup) *ActualLRPRemovedEvent {
	return &ActualLRPRemovedEvent{ActualLrpGroup: g}
}

// EventType implements Event.
func (x *ActualLRPCreatedEvent) EventType() string { return EventTypeActualLRPCreated }

// EventType implements Event.
func (x *ActualLRPChangedEvent) EventType() string { return EventTypeActualLRPChanged }

// EventType implements Event.
func (x *ActualLRPRemovedEvent) EventType() string { return EventTypeActualLRPRemoved }

// Key is the instance guid of the group's resolved LRP.
func (x *ActualLRPCreatedEvent) Key() string { return groupInstanceGuid(x.GetActualLrpGroup()) }

// Key is the instance guid of the before group's resolved LRP.
func (x *ActualLRPChangedEvent) Key() string { return groupInstanceGuid(x.GetBefore()) }

// Key is the instance guid of the group's resolved LRP.
func (x *ActualLRPRemovedEvent) Key() string { return groupInstanceGuid(x.GetActualLrpGroup()) }

func groupInstanceGuid(g *ActualLRPGroup) string {
	lrp, _, err := g.Resolve()
	if err != nil {
		return ""
	}
	return lrp.GetActualLrpInstanceKey().GetInstanceGuid()
}

// Task events. The tasks are carried as given; task events have no trace
// id.

// NewTaskCreatedEvent reports a new task.
func NewTaskCreatedEvent(t *Task) *TaskCreatedEvent { return &TaskCreatedEvent{Task: t} }

// NewTaskChangedEvent reports a task update.
func NewTaskChangedEvent(before, after *Task) *TaskChangedEvent {
	return &TaskChangedEvent{Before: before, After: after}
}

// NewTaskRemovedEvent reports a deleted task.
func NewTaskRemovedEvent(t *Task) *TaskRemovedEvent { return &TaskRemovedEvent{Task: t} }

// EventType implements Event.
func (x *TaskCreatedEvent) EventType() string { return EventTypeTaskCreated }

// EventType implements Event.
func (x *TaskChangedEvent) EventType() string { return EventTypeTaskChanged }

// EventType implements Event.
func (x *TaskRemovedEvent) EventType() string { return EventTypeTaskRemoved }

// Key is the task guid.
func (x *TaskCreatedEvent) Key() string { return x.GetTask().GetTaskGuid() }

// Key is the task guid of the task before the change.
func (x *TaskChangedEvent) Key() string { return x.GetBefore().GetTaskGuid() }

// Key is the task guid.
func (x *TaskRemovedEvent) Key() string { return x.GetTask().GetTaskGuid() }
