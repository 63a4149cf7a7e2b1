package models

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Model versions (§1.8). The BBS stores and handles V3 only; older routes
// and the deprecated event streams show older forms, computed here on the
// way out. Every function returns a new message and leaves its argument
// untouched, so a model read once can be served in several forms.
//
//	V3 → V2  image layers become cached dependencies (shared layers) and
//	         download actions (exclusive layers) in front of the LRP's
//	         setup or the task's action.
//	V2 → V0  (desired LRPs only) timeouts also in nanoseconds and seconds,
//	         cached dependencies become download actions in front of setup.

// DesiredLRPToV2 returns d as the .r2 routes show it.
func DesiredLRPToV2(d *DesiredLRP) *DesiredLRP {
	if d == nil {
		return nil
	}
	c := proto.Clone(d).(*DesiredLRP)
	layersToV2(c.ImageLayers, c.LegacyDownloadUser, &c.CachedDependencies, &c.Setup)
	c.ImageLayers = nil
	return c
}

// DesiredLRPToV0 returns d as the deprecated event streams show it.
//
// Like the reference, the timeout rewrite drops every emit-progress and try
// wrapper on its way down the action tree (keeping the wrapped action), and
// does not descend into the action a timeout wraps.
func DesiredLRPToV0(d *DesiredLRP) *DesiredLRP {
	c := DesiredLRPToV2(d)
	if c == nil {
		return nil
	}
	c.Action = withDeprecatedTimeouts(c.Action)
	c.Setup = withDeprecatedTimeouts(c.Setup)
	c.Monitor = withDeprecatedTimeouts(c.Monitor)
	// The reference truncates to 32 bits before dividing.
	c.DeprecatedStartTimeoutS = uint32(c.StartTimeoutMs) / 1000
	if len(c.CachedDependencies) > 0 {
		downloads := make([]*Action, len(c.CachedDependencies))
		for i, dep := range c.CachedDependencies {
			downloads[i] = &Action{DownloadAction: &DownloadAction{
				Artifact:  dep.GetName(),
				From:      dep.GetFrom(),
				To:        dep.GetTo(),
				CacheKey:  dep.GetCacheKey(),
				LogSource: dep.GetLogSource(),
				User:      c.LegacyDownloadUser,
			}}
		}
		steps := []*Action{{ParallelAction: &ParallelAction{Actions: downloads}}}
		if c.Setup != nil {
			steps = append(steps, firstVariantOnly(c.Setup))
		}
		c.Setup = &Action{SerialAction: &SerialAction{Actions: steps}}
		c.CachedDependencies = nil
	}
	return c
}

// TaskToV2 returns t as the .r2 task routes and the deprecated task stream
// show it. A task without a definition gets an empty one, as in the
// reference.
func TaskToV2(t *Task) *Task {
	if t == nil {
		return nil
	}
	c := proto.Clone(t).(*Task)
	if c.TaskDefinition == nil {
		c.TaskDefinition = &TaskDefinition{}
	}
	def := c.TaskDefinition
	layersToV2(def.ImageLayers, def.LegacyDownloadUser, &def.CachedDependencies, &def.Action)
	def.ImageLayers = nil
	return c
}

// layersToV2 prepends the shared layers to *deps and the downloads of the
// exclusive layers to *action. It owns the messages it is given.
func layersToV2(layers []*ImageLayer, user string, deps *[]*CachedDependency, action **Action) {
	if len(layers) == 0 {
		return
	}
	var shared []*CachedDependency
	var downloads []*Action
	for _, l := range layers {
		switch l.GetLayerType() {
		case ImageLayer_SHARED:
			shared = append(shared, sharedLayerDependency(l))
		case ImageLayer_EXCLUSIVE:
			alg := digestAlgorithmName(l.GetDigestAlgorithm())
			downloads = append(downloads, &Action{DownloadAction: &DownloadAction{
				Artifact:          l.GetName(),
				From:              l.GetUrl(),
				To:                l.GetDestinationPath(),
				CacheKey:          alg + ":" + l.GetDigestValue(),
				User:              user,
				ChecksumAlgorithm: alg,
				ChecksumValue:     l.GetDigestValue(),
			}})
		}
	}
	*deps = append(shared, *deps...)
	if len(downloads) == 0 {
		return
	}
	parallel := &Action{ParallelAction: &ParallelAction{Actions: downloads}}
	if *action == nil {
		*action = parallel
		return
	}
	*action = &Action{SerialAction: &SerialAction{Actions: []*Action{parallel, firstVariantOnly(*action)}}}
}

// sharedLayerDependency is the cached dependency of a shared layer; its
// cache key is the digest when there is one, the URL otherwise.
func sharedLayerDependency(l *ImageLayer) *CachedDependency {
	c := &CachedDependency{
		Name:          l.GetName(),
		From:          l.GetUrl(),
		To:            l.GetDestinationPath(),
		ChecksumValue: l.GetDigestValue(),
	}
	if l.GetDigestAlgorithm() != ImageLayer_DigestAlgorithmInvalid {
		c.ChecksumAlgorithm = digestAlgorithmName(l.GetDigestAlgorithm())
	}
	if c.ChecksumValue == "" {
		c.CacheKey = l.GetUrl()
	} else {
		c.CacheKey = c.ChecksumAlgorithm + ":" + c.ChecksumValue
	}
	return c
}

// digestAlgorithmName is the enum name in lower case ("sha256"), as the
// checksum fields spell it.
func digestAlgorithmName(a ImageLayer_DigestAlgorithm) string {
	return strings.ToLower(a.String())
}

// firstVariantOnly returns a with only its first variant set, which is what
// the reference's unwrap and re-wrap of an action keeps. An action with no
// variant stays an empty action.
func firstVariantOnly(a *Action) *Action {
	switch {
	case a.DownloadAction != nil:
		return &Action{DownloadAction: a.DownloadAction}
	case a.UploadAction != nil:
		return &Action{UploadAction: a.UploadAction}
	case a.RunAction != nil:
		return &Action{RunAction: a.RunAction}
	case a.TimeoutAction != nil:
		return &Action{TimeoutAction: a.TimeoutAction}
	case a.EmitProgressAction != nil:
		return &Action{EmitProgressAction: a.EmitProgressAction}
	case a.TryAction != nil:
		return &Action{TryAction: a.TryAction}
	case a.ParallelAction != nil:
		return &Action{ParallelAction: a.ParallelAction}
	case a.SerialAction != nil:
		return &Action{SerialAction: a.SerialAction}
	case a.CodependentAction != nil:
		return &Action{CodependentAction: a.CodependentAction}
	}
	return &Action{}
}

// withDeprecatedTimeouts sets deprecated_timeout_ns on the timeouts of an
// action tree it owns, the V0 way: leaves are kept as they are, a timeout
// gets its nanoseconds (its inner action is left alone), emit-progress and
// try are replaced by their converted inner action, and lists are
// converted element by element.
func withDeprecatedTimeouts(a *Action) *Action {
	if a == nil {
		return nil
	}
	switch {
	case a.DownloadAction != nil, a.UploadAction != nil, a.RunAction != nil:
		return a
	case a.TimeoutAction != nil:
		t := a.TimeoutAction
		t.DeprecatedTimeoutNs = t.TimeoutMs * 1_000_000
		return &Action{TimeoutAction: t}
	case a.EmitProgressAction != nil:
		return withDeprecatedTimeouts(a.EmitProgressAction.Action)
	case a.TryAction != nil:
		return withDeprecatedTimeouts(a.TryAction.Action)
	case a.ParallelAction != nil:
		convertActionList(a.ParallelAction.Actions)
		return &Action{ParallelAction: a.ParallelAction}
	case a.SerialAction != nil:
		convertActionList(a.SerialAction.Actions)
		return &Action{SerialAction: a.SerialAction}
	case a.CodependentAction != nil:
		convertActionList(a.CodependentAction.Actions)
		return &Action{CodependentAction: a.CodependentAction}
	}
	return a
}

// convertActionList converts each element in place. A wrapper without an
// inner action would leave a hole; it becomes an empty action so that the
// list still encodes.
func convertActionList(actions []*Action) {
	for i, sub := range actions {
		if actions[i] = withDeprecatedTimeouts(sub); actions[i] == nil {
			actions[i] = &Action{}
		}
	}
}

// PopulateMetricsGuid returns d with metrics_guid and the source_id metric
// tag filled from each other, as every desired LRP response shows them: an
// empty metrics_guid takes the source_id tag's static value, and a
// metrics_guid without a source_id tag adds one. When nothing changes it
// returns d itself; otherwise a shallow copy that shares d's sub-messages,
// so neither result may be modified in place.
func PopulateMetricsGuid(d *DesiredLRP) *DesiredLRP {
	if d == nil {
		return nil
	}
	src, hasSource := d.MetricTags["source_id"]
	switch {
	case hasSource && d.MetricsGuid == "":
		if src.GetStatic() == "" {
			return d
		}
		c := shallowCopy(d)
		c.MetricsGuid = src.GetStatic()
		return c
	case !hasSource && d.MetricsGuid != "":
		c := shallowCopy(d)
		c.MetricTags = make(map[string]*MetricTagValue, len(d.MetricTags)+1)
		for k, v := range d.MetricTags {
			c.MetricTags[k] = v
		}
		c.MetricTags["source_id"] = &MetricTagValue{Static: d.MetricsGuid}
		return c
	}
	return d
}

// shallowCopy returns a new message of m's type whose fields (and unknown
// fields) are m's: lists, maps and sub-messages are shared, not copied.
func shallowCopy[M proto.Message](m M) M {
	src := m.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	dst.SetUnknown(src.GetUnknown())
	return dst.Interface().(M)
}

// DesiredLRPEventToV0 returns a desired LRP event with its LRPs in the V0
// form of the deprecated streams; other events are returned unchanged.
func DesiredLRPEventToV0(ev Event) Event {
	switch e := ev.(type) {
	case *DesiredLRPCreatedEvent:
		return NewDesiredLRPCreatedEvent(DesiredLRPToV0(e.GetDesiredLrp()), e.GetTraceId())
	case *DesiredLRPChangedEvent:
		return NewDesiredLRPChangedEvent(DesiredLRPToV0(e.GetBefore()), DesiredLRPToV0(e.GetAfter()), e.GetTraceId())
	case *DesiredLRPRemovedEvent:
		return NewDesiredLRPRemovedEvent(DesiredLRPToV0(e.GetDesiredLrp()), e.GetTraceId())
	}
	return ev
}

// TaskEventToV2 returns a task event with its tasks in the V2 form of the
// deprecated task stream; other events are returned unchanged.
func TaskEventToV2(ev Event) Event {
	switch e := ev.(type) {
	case *TaskCreatedEvent:
		return NewTaskCreatedEvent(TaskToV2(e.GetTask()))
	case *TaskChangedEvent:
		return NewTaskChangedEvent(TaskToV2(e.GetBefore()), TaskToV2(e.GetAfter()))
	case *TaskRemovedEvent:
		return NewTaskRemovedEvent(TaskToV2(e.GetTask()))
	}
	return ev
}
