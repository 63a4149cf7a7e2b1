package models

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

func deterministic(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkEqual(t *testing.T, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("\n got  %v\n want %v", got, want)
	}
}

func run(path string) *Action { return &Action{RunAction: &RunAction{Path: path, User: "vcap"}} }

func download(name, from, to, cacheKey, user, alg, value string) *Action {
	return &Action{DownloadAction: &DownloadAction{Artifact: name, From: from, To: to, CacheKey: cacheKey,
		User: user, ChecksumAlgorithm: alg, ChecksumValue: value}}
}

func parallel(actions ...*Action) *Action {
	return &Action{ParallelAction: &ParallelAction{Actions: actions}}
}
func serial(actions ...*Action) *Action {
	return &Action{SerialAction: &SerialAction{Actions: actions}}
}

func layeredLRP() *DesiredLRP {
	return &DesiredLRP{
		ProcessGuid: "p", LegacyDownloadUser: "vcap",
		Setup:              run("/setup"),
		Action:             run("/app"),
		CachedDependencies: []*CachedDependency{{Name: "old", From: "http://old", To: "/old", CacheKey: "old-key", LogSource: "ls"}},
		ImageLayers: []*ImageLayer{
			{Name: "s1", Url: "http://s1", DestinationPath: "/s1", LayerType: ImageLayer_SHARED, MediaType: ImageLayer_TGZ,
				DigestAlgorithm: ImageLayer_SHA256, DigestValue: "d1"},
			{Name: "x1", Url: "http://x1", DestinationPath: "/x1", LayerType: ImageLayer_EXCLUSIVE, MediaType: ImageLayer_TGZ,
				DigestAlgorithm: ImageLayer_SHA512, DigestValue: "d2"},
			{Name: "s2", Url: "http://s2", DestinationPath: "/s2", LayerType: ImageLayer_SHARED, MediaType: ImageLayer_TAR},
			{Name: "x2", Url: "http://x2", DestinationPath: "/x2", LayerType: ImageLayer_EXCLUSIVE, MediaType: ImageLayer_ZIP,
				DigestAlgorithm: ImageLayer_SHA256, DigestValue: "d3"},
		},
	}
}

func TestDesiredLRPToV2(t *testing.T) {
	in := layeredLRP()
	before := deterministic(t, in)
	got := DesiredLRPToV2(in)
	want := &DesiredLRP{
		ProcessGuid: "p", LegacyDownloadUser: "vcap",
		Action: run("/app"),
		CachedDependencies: []*CachedDependency{
			{Name: "s1", From: "http://s1", To: "/s1", CacheKey: "sha256:d1", ChecksumAlgorithm: "sha256", ChecksumValue: "d1"},
			{Name: "s2", From: "http://s2", To: "/s2", CacheKey: "http://s2"},
			{Name: "old", From: "http://old", To: "/old", CacheKey: "old-key", LogSource: "ls"},
		},
		Setup: serial(
			parallel(
				download("x1", "http://x1", "/x1", "sha512:d2", "vcap", "sha512", "d2"),
				download("x2", "http://x2", "/x2", "sha256:d3", "vcap", "sha256", "d3"),
			),
			run("/setup"),
		),
	}
	checkEqual(t, got, want)
	if deterministic(t, in) != before {
		t.Error("input changed")
	}
	if got == in {
		t.Error("not a copy")
	}
}

func TestDesiredLRPToV2Variants(t *testing.T) {
	// Exclusive layers without a setup become the setup, not wrapped in a serial.
	in := &DesiredLRP{ImageLayers: []*ImageLayer{{Name: "x", Url: "u", DestinationPath: "/d",
		LayerType: ImageLayer_EXCLUSIVE, DigestAlgorithm: ImageLayer_SHA256, DigestValue: "v"}}, LegacyDownloadUser: "u1"}
	checkEqual(t, DesiredLRPToV2(in), &DesiredLRP{LegacyDownloadUser: "u1",
		Setup: parallel(download("x", "u", "/d", "sha256:v", "u1", "sha256", "v"))})

	// Without layers nothing changes.
	plain := validDesiredLRP()
	plain.ImageLayers = nil
	checkEqual(t, DesiredLRPToV2(plain), plain)

	// Only shared layers: the setup is untouched.
	shared := &DesiredLRP{Setup: run("/s"), ImageLayers: []*ImageLayer{{Url: "u", LayerType: ImageLayer_SHARED}}}
	checkEqual(t, DesiredLRPToV2(shared), &DesiredLRP{Setup: run("/s"),
		CachedDependencies: []*CachedDependency{{From: "u", CacheKey: "u"}}})

	// The setup keeps only its first variant when it is wrapped.
	two := &DesiredLRP{Setup: &Action{RunAction: &RunAction{Path: "/r"}, TryAction: &TryAction{}},
		ImageLayers: []*ImageLayer{{LayerType: ImageLayer_EXCLUSIVE, DigestAlgorithm: ImageLayer_SHA256}}}
	checkEqual(t, DesiredLRPToV2(two).Setup, serial(parallel(download("", "", "", "sha256:", "", "sha256", "")),
		&Action{RunAction: &RunAction{Path: "/r"}}))

	if DesiredLRPToV2(nil) != nil || DesiredLRPToV0(nil) != nil || TaskToV2(nil) != nil {
		t.Error("nil in, nil out")
	}
}

func TestDesiredLRPToV0(t *testing.T) {
	timeout := func(ms int64, a *Action) *Action {
		return &Action{TimeoutAction: &TimeoutAction{Action: a, TimeoutMs: ms}}
	}
	timeoutV0 := func(ms int64, a *Action) *Action {
		return &Action{TimeoutAction: &TimeoutAction{Action: a, TimeoutMs: ms, DeprecatedTimeoutNs: ms * 1_000_000}}
	}
	emit := func(a *Action) *Action {
		return &Action{EmitProgressAction: &EmitProgressAction{Action: a, StartMessage: "go"}}
	}
	try := func(a *Action) *Action { return &Action{TryAction: &TryAction{Action: a}} }

	in := &DesiredLRP{
		ProcessGuid: "p", LegacyDownloadUser: "vcap", StartTimeoutMs: 61_999,
		Action: emit(timeout(5, run("/app"))),
		Setup: &Action{CodependentAction: &CodependentAction{Actions: []*Action{
			try(run("/a")),
			timeout(7, emit(timeout(9, run("/b")))), // the inner action of a timeout is left alone
			serial(emit(try(timeout(3, run("/c"))))),
		}}},
		Monitor: try(emit(run("/health"))),
		CachedDependencies: []*CachedDependency{
			{Name: "lc", From: "http://lc", To: "/lc", CacheKey: "k", LogSource: "ls", ChecksumAlgorithm: "md5", ChecksumValue: "v"},
		},
		ImageLayers: []*ImageLayer{{Name: "s", Url: "http://s", DestinationPath: "/s", LayerType: ImageLayer_SHARED}},
	}
	before := deterministic(t, in)
	got := DesiredLRPToV0(in)
	want := &DesiredLRP{
		ProcessGuid: "p", LegacyDownloadUser: "vcap", StartTimeoutMs: 61_999, DeprecatedStartTimeoutS: 61,
		Action: timeoutV0(5, run("/app")),
		Setup: serial(
			parallel(
				download("s", "http://s", "/s", "http://s", "vcap", "", ""),
				download("lc", "http://lc", "/lc", "k", "vcap", "", ""),
			),
			&Action{CodependentAction: &CodependentAction{Actions: []*Action{
				run("/a"),
				timeoutV0(7, emit(timeout(9, run("/b")))),
				serial(timeoutV0(3, run("/c"))),
			}}},
		),
		Monitor: run("/health"),
	}
	want.Setup.SerialAction.Actions[0].ParallelAction.Actions[1].DownloadAction.LogSource = "ls"
	checkEqual(t, got, want)
	if deterministic(t, in) != before {
		t.Error("input changed")
	}
}

func TestDesiredLRPToV0Quirks(t *testing.T) {
	cases := []struct {
		name string
		in   *DesiredLRP
		want *DesiredLRP
	}{
		{"start timeout truncated to 32 bits before dividing",
			&DesiredLRP{StartTimeoutMs: 5_000_000_123},
			&DesiredLRP{StartTimeoutMs: 5_000_000_123, DeprecatedStartTimeoutS: 705_032}},
		{"cached dependencies without setup",
			&DesiredLRP{CachedDependencies: []*CachedDependency{{From: "f"}}, LegacyDownloadUser: "u"},
			&DesiredLRP{LegacyDownloadUser: "u", Setup: serial(parallel(download("", "f", "", "", "u", "", "")))}},
		{"emit progress without inner action disappears",
			&DesiredLRP{Monitor: &Action{EmitProgressAction: &EmitProgressAction{}}},
			&DesiredLRP{}},
		{"leaf with two variants kept whole",
			&DesiredLRP{Action: &Action{RunAction: &RunAction{Path: "/r"}, TimeoutAction: &TimeoutAction{TimeoutMs: 1}}},
			&DesiredLRP{Action: &Action{RunAction: &RunAction{Path: "/r"}, TimeoutAction: &TimeoutAction{TimeoutMs: 1}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkEqual(t, DesiredLRPToV0(c.in), c.want)
		})
	}
}

func TestTaskToV2(t *testing.T) {
	in := &Task{TaskGuid: "t", TaskDefinition: &TaskDefinition{
		Action: run("/task"), LegacyDownloadUser: "vcap",
		ImageLayers: []*ImageLayer{
			{Name: "x", Url: "http://x", DestinationPath: "/x", LayerType: ImageLayer_EXCLUSIVE,
				DigestAlgorithm: ImageLayer_SHA256, DigestValue: "d"},
			{Name: "s", Url: "http://s", DestinationPath: "/s", LayerType: ImageLayer_SHARED,
				DigestAlgorithm: ImageLayer_SHA256, DigestValue: "e"},
		},
	}}
	before := deterministic(t, in)
	want := &Task{TaskGuid: "t", TaskDefinition: &TaskDefinition{
		LegacyDownloadUser: "vcap",
		Action:             serial(parallel(download("x", "http://x", "/x", "sha256:d", "vcap", "sha256", "d")), run("/task")),
		CachedDependencies: []*CachedDependency{{Name: "s", From: "http://s", To: "/s", CacheKey: "sha256:e",
			ChecksumAlgorithm: "sha256", ChecksumValue: "e"}},
	}}
	checkEqual(t, TaskToV2(in), want)
	if deterministic(t, in) != before {
		t.Error("input changed")
	}
	// A task without definition gets an empty one.
	checkEqual(t, TaskToV2(&Task{TaskGuid: "t"}), &Task{TaskGuid: "t", TaskDefinition: &TaskDefinition{}})
}

func TestPopulateMetricsGuid(t *testing.T) {
	tag := func(s string) *MetricTagValue { return &MetricTagValue{Static: s} }
	cases := []struct {
		name      string
		in, want  *DesiredLRP
		unchanged bool
	}{
		{"guid from source_id",
			&DesiredLRP{MetricTags: map[string]*MetricTagValue{"source_id": tag("s")}},
			&DesiredLRP{MetricsGuid: "s", MetricTags: map[string]*MetricTagValue{"source_id": tag("s")}}, false},
		{"source_id from guid",
			&DesiredLRP{MetricsGuid: "g", MetricTags: map[string]*MetricTagValue{"a": tag("b")}},
			&DesiredLRP{MetricsGuid: "g", MetricTags: map[string]*MetricTagValue{"a": tag("b"), "source_id": tag("g")}}, false},
		{"source_id from guid, no tags",
			&DesiredLRP{MetricsGuid: "g"},
			&DesiredLRP{MetricsGuid: "g", MetricTags: map[string]*MetricTagValue{"source_id": tag("g")}}, false},
		{"both set, different",
			&DesiredLRP{MetricsGuid: "g", MetricTags: map[string]*MetricTagValue{"source_id": tag("s")}},
			&DesiredLRP{MetricsGuid: "g", MetricTags: map[string]*MetricTagValue{"source_id": tag("s")}}, true},
		{"neither", &DesiredLRP{ProcessGuid: "p"}, &DesiredLRP{ProcessGuid: "p"}, true},
		{"dynamic source_id", &DesiredLRP{MetricTags: map[string]*MetricTagValue{"source_id": {Dynamic: MetricTagValue_INDEX}}},
			&DesiredLRP{MetricTags: map[string]*MetricTagValue{"source_id": {Dynamic: MetricTagValue_INDEX}}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := deterministic(t, c.in)
			got := PopulateMetricsGuid(c.in)
			checkEqual(t, got, c.want)
			if deterministic(t, c.in) != before {
				t.Error("input changed")
			}
			if (got == c.in) != c.unchanged {
				t.Errorf("returned the input: %v, want %v", got == c.in, c.unchanged)
			}
		})
	}
	if PopulateMetricsGuid(nil) != nil {
		t.Error("nil")
	}
}

func TestVersionedEvents(t *testing.T) {
	lrp := &DesiredLRP{ProcessGuid: "p", StartTimeoutMs: 2000}
	v0 := &DesiredLRP{ProcessGuid: "p", StartTimeoutMs: 2000, DeprecatedStartTimeoutS: 2}
	checkEqual(t, DesiredLRPEventToV0(NewDesiredLRPCreatedEvent(lrp, "tr")), NewDesiredLRPCreatedEvent(v0, "tr"))
	checkEqual(t, DesiredLRPEventToV0(NewDesiredLRPChangedEvent(lrp, lrp, "tr")), NewDesiredLRPChangedEvent(v0, v0, "tr"))
	checkEqual(t, DesiredLRPEventToV0(NewDesiredLRPRemovedEvent(lrp, "tr")), NewDesiredLRPRemovedEvent(v0, "tr"))
	other := NewTaskCreatedEvent(&Task{})
	if DesiredLRPEventToV0(other) != Event(other) {
		t.Error("other events pass unchanged")
	}

	task := &Task{TaskGuid: "t", TaskDefinition: &TaskDefinition{ImageLayers: []*ImageLayer{{Url: "u", LayerType: ImageLayer_SHARED}}}}
	v2 := &Task{TaskGuid: "t", TaskDefinition: &TaskDefinition{CachedDependencies: []*CachedDependency{{From: "u", CacheKey: "u"}}}}
	checkEqual(t, TaskEventToV2(NewTaskCreatedEvent(task)), NewTaskCreatedEvent(v2))
	checkEqual(t, TaskEventToV2(NewTaskChangedEvent(task, task)), NewTaskChangedEvent(v2, v2))
	checkEqual(t, TaskEventToV2(NewTaskRemovedEvent(task)), NewTaskRemovedEvent(v2))
	if len(task.TaskDefinition.ImageLayers) != 1 {
		t.Error("input changed")
	}
	// Nil payloads stay nil.
	checkEqual(t, DesiredLRPEventToV0(&DesiredLRPCreatedEvent{}), &DesiredLRPCreatedEvent{})
}
