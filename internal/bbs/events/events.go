// Package events carries BBS events from the code that changes state to the
// clients watching it: hubs that fan events out to subscribers, the
// server-sent-event framing the BBS writes (reference notes §2.2), and the
// reader the Go client parses it with.
//
//	controllers --Emit--> Hub --1024-event buffer per subscriber--> Subscription
//	                                                                    |
//	                                          Stream (handler): id/event/data frames, one flush each
//	                                                                    |
//	                                          Reader + Decode (client): frames back to messages
//
// A subscriber that falls more than 1024 events behind is cut off: it gets
// what was buffered, then its stream ends and the client resubscribes and
// re-syncs by listing, as with the reference.
package events

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/diego-go/diego/internal/models"
)

// Event is a BBS event message together with its event type name (the SSE
// `event:` field, e.g. "task_created").
type Event interface {
	proto.Message
	EventType() string
}

// WithName makes msg an Event called name, for messages whose type does not
// name itself. Message undoes it.
func WithName(name string, msg proto.Message) Event {
	return named{name: name, msg: msg}
}

// Message returns the protobuf message inside ev: the one given to WithName,
// or ev itself. Filters and consumers type-switch on it.
func Message(ev Event) proto.Message {
	if n, ok := ev.(named); ok {
		return n.msg
	}
	return ev
}

var _ Event = named{}

type named struct {
	name string
	msg  proto.Message
}

func (n named) EventType() string                  { return n.name }
func (n named) ProtoReflect() protoreflect.Message { return n.msg.ProtoReflect() }

// eventTypes maps each event name of §2.3 to its message type.
var eventTypes = map[string]func() proto.Message{
	"desired_lrp_created":         func() proto.Message { return new(models.DesiredLRPCreatedEvent) },
	"desired_lrp_changed":         func() proto.Message { return new(models.DesiredLRPChangedEvent) },
	"desired_lrp_removed":         func() proto.Message { return new(models.DesiredLRPRemovedEvent) },
	"actual_lrp_instance_created": func() proto.Message { return new(models.ActualLRPInstanceCreatedEvent) },
	"actual_lrp_instance_changed": func() proto.Message { return new(models.ActualLRPInstanceChangedEvent) },
	"actual_lrp_instance_removed": func() proto.Message { return new(models.ActualLRPInstanceRemovedEvent) },
	"actual_lrp_crashed":          func() proto.Message { return new(models.ActualLRPCrashedEvent) },
	"actual_lrp_created":          func() proto.Message { return new(models.ActualLRPCreatedEvent) },
	"actual_lrp_changed":          func() proto.Message { return new(models.ActualLRPChangedEvent) },
	"actual_lrp_removed":          func() proto.Message { return new(models.ActualLRPRemovedEvent) },
	"task_created":                func() proto.Message { return new(models.TaskCreatedEvent) },
	"task_changed":                func() proto.Message { return new(models.TaskChangedEvent) },
	"task_removed":                func() proto.Message { return new(models.TaskRemovedEvent) },
}

// typeNames is eventTypes inverted, by message full name.
var typeNames = func() map[protoreflect.FullName]string {
	m := make(map[protoreflect.FullName]string, len(eventTypes))
	for name, newMsg := range eventTypes {
		m[newMsg().ProtoReflect().Descriptor().FullName()] = name
	}
	return m
}()

// NewMessage returns an empty message of the type the event called name
// carries, and false for a name the BBS does not send.
func NewMessage(name string) (proto.Message, bool) {
	newMsg, ok := eventTypes[name]
	if !ok {
		return nil, false
	}
	return newMsg(), true
}

// TypeName returns the event name of msg's type ("task_created" for a
// TaskCreatedEvent), and false if msg is not an event message.
func TypeName(msg proto.Message) (string, bool) {
	if msg == nil {
		return "", false
	}
	name, ok := typeNames[msg.ProtoReflect().Descriptor().FullName()]
	return name, ok
}

// asEvent returns msg as an Event called name: itself if its type already
// names itself so, wrapped otherwise.
func asEvent(name string, msg proto.Message) Event {
	if ev, ok := msg.(Event); ok && ev.EventType() == name {
		return ev
	}
	return WithName(name, msg)
}
