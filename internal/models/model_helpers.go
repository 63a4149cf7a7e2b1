package models

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
)

// Small helpers on the models that are not state transitions.

// SucceededBy reports whether other is a later version of the record x
// tags: true when either tag is unknown (nil or without epoch), when the
// epochs differ (the record was recreated), or when other's index is
// higher. The route-emitter uses it to drop stale events.
func (x *ModificationTag) SucceededBy(other *ModificationTag) bool {
	if x.GetEpoch() == "" || other.GetEpoch() == "" {
		return true
	}
	return x.GetEpoch() != other.GetEpoch() || x.GetIndex() < other.GetIndex()
}

// Copy returns a deep copy of x (nil for nil).
func (x *DesiredLRP) Copy() *DesiredLRP {
	if x == nil {
		return nil
	}
	return proto.Clone(x).(*DesiredLRP)
}

// VolumeDrivers returns the driver of every volume mount, in order and with
// repeats: the scheduling info's volume placement and what a cell must
// offer. Never nil, so that it prints as [] in JSON.
func (x *DesiredLRP) VolumeDrivers() []string {
	return volumeDrivers(x.GetVolumeMounts())
}

// VolumeDrivers returns the driver of every volume mount, in order and with
// repeats (the auction's placement constraint). Never nil.
func (x *TaskDefinition) VolumeDrivers() []string {
	return volumeDrivers(x.GetVolumeMounts())
}

// VolumeDrivers returns the drivers of the task's definition. Never nil.
func (x *Task) VolumeDrivers() []string {
	return x.GetTaskDefinition().VolumeDrivers()
}

func volumeDrivers(mounts []*VolumeMount) []string {
	drivers := make([]string, 0, len(mounts))
	for _, m := range mounts {
		drivers = append(drivers, m.GetDriver())
	}
	return drivers
}

// ResolveMetricTags returns the metric tags of one LRP instance: static
// values as they are, INDEX as the decimal index, INSTANCE_GUID as the
// instance guid. A tag with an unknown dynamic value is left out, as in the
// reference; a nil tag value reads as an empty static value.
func ResolveMetricTags(tags map[string]*MetricTagValue, index int32, instanceGuid string) map[string]string {
	resolved := make(map[string]string, len(tags))
	for k, v := range tags {
		switch d := v.GetDynamic(); {
		case d <= 0:
			resolved[k] = v.GetStatic()
		case d == MetricTagValue_INDEX:
			resolved[k] = strconv.FormatInt(int64(index), 10)
		case d == MetricTagValue_INSTANCE_GUID:
			resolved[k] = instanceGuid
		}
	}
	return resolved
}

// ResolveTaskMetricTags returns the metric tags of a task. A task has no
// index or instance guid, so a dynamic tag is an error, with the reference's
// message.
func ResolveTaskMetricTags(tags map[string]*MetricTagValue) (map[string]string, error) {
	resolved := make(map[string]string, len(tags))
	for k, v := range tags {
		switch d := v.GetDynamic(); {
		case d <= 0:
			resolved[k] = v.GetStatic()
		case d == MetricTagValue_INDEX:
			return nil, fmt.Errorf("could not convert value %+v of type %T to int32", nil, nil)
		case d == MetricTagValue_INSTANCE_GUID:
			return nil, fmt.Errorf("could not convert value %+v of type %T to string", nil, nil)
		}
	}
	return resolved, nil
}
