package models

import (
	"reflect"
	"testing"
)

func TestModificationTagSucceededBy(t *testing.T) {
	tag := func(epoch string, index uint32) *ModificationTag { return &ModificationTag{Epoch: epoch, Index: index} }
	cases := []struct {
		name        string
		tag, other  *ModificationTag
		succeededBy bool
	}{
		{"nil tag", nil, tag("a", 1), true},
		{"nil other", tag("a", 1), nil, true},
		{"no epoch", tag("", 5), tag("a", 1), true},
		{"other without epoch", tag("a", 5), tag("", 1), true},
		{"other epoch", tag("a", 5), tag("b", 0), true},
		{"higher index", tag("a", 1), tag("a", 2), true},
		{"same index", tag("a", 2), tag("a", 2), false},
		{"lower index", tag("a", 3), tag("a", 2), false},
	}
	for _, c := range cases {
		if got := c.tag.SucceededBy(c.other); got != c.succeededBy {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestDesiredLRPCopy(t *testing.T) {
	d := validDesiredLRP()
	c := d.Copy()
	checkEqual(t, c, d)
	c.MetricTags["source_id"].Static = "changed"
	c.Action.RunAction.Path = "/other"
	if d.MetricTags["source_id"].Static != "app-guid" || d.Action.RunAction.Path != "/bin/app" {
		t.Error("copy shares sub-messages")
	}
	if (*DesiredLRP)(nil).Copy() != nil {
		t.Error("nil")
	}
}

func TestVolumeDrivers(t *testing.T) {
	mounts := []*VolumeMount{{Driver: "nfs"}, {Driver: "smb"}, {Driver: "nfs"}, nil}
	want := []string{"nfs", "smb", "nfs", ""}
	if got := (&DesiredLRP{VolumeMounts: mounts}).VolumeDrivers(); !reflect.DeepEqual(got, want) {
		t.Errorf("desired: %v", got)
	}
	if got := (&Task{TaskDefinition: &TaskDefinition{VolumeMounts: mounts}}).VolumeDrivers(); !reflect.DeepEqual(got, want) {
		t.Errorf("task: %v", got)
	}
	for _, got := range [][]string{(&DesiredLRP{}).VolumeDrivers(), (*Task)(nil).VolumeDrivers(), (*TaskDefinition)(nil).VolumeDrivers()} {
		if got == nil || len(got) != 0 {
			t.Errorf("want an empty, non-nil list, got %#v", got)
		}
	}
}

func TestResolveMetricTags(t *testing.T) {
	tags := map[string]*MetricTagValue{
		"source_id":     {Static: "app"},
		"instance_id":   {Dynamic: MetricTagValue_INDEX},
		"instance_guid": {Dynamic: MetricTagValue_INSTANCE_GUID},
		"both":          {Static: "s", Dynamic: MetricTagValue_INDEX},
		"unknown":       {Static: "s", Dynamic: 9},
		"negative":      {Static: "n", Dynamic: -1},
		"nil":           nil,
	}
	want := map[string]string{
		"source_id": "app", "instance_id": "12", "instance_guid": "ig", "both": "12", "negative": "n", "nil": "",
	}
	if got := ResolveMetricTags(tags, 12, "ig"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	if got := ResolveMetricTags(nil, 0, ""); got == nil || len(got) != 0 {
		t.Errorf("no tags: %#v", got)
	}
}

func TestResolveTaskMetricTags(t *testing.T) {
	got, err := ResolveTaskMetricTags(map[string]*MetricTagValue{"a": {Static: "b"}, "c": {Dynamic: 9}})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"a": "b"}) {
		t.Errorf("got %v %v", got, err)
	}
	cases := map[MetricTagValue_DynamicValue]string{
		MetricTagValue_INDEX:         "could not convert value <nil> of type <nil> to int32",
		MetricTagValue_INSTANCE_GUID: "could not convert value <nil> of type <nil> to string",
	}
	for d, msg := range cases {
		_, err := ResolveTaskMetricTags(map[string]*MetricTagValue{"x": {Dynamic: d}})
		if err == nil || err.Error() != msg {
			t.Errorf("%v: err %v", d, err)
		}
	}
}
