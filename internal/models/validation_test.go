package models

import (
	"errors"
	"strings"
	"testing"
)

// checkValidation asserts that err is nil when want is "", and otherwise an
// InvalidRequest *Error with exactly the message want.
func checkValidation(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("want valid, got %q", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error %q, got %#v", want, err)
	}
	if e.GetType() != Error_InvalidRequest {
		t.Errorf("type = %v, want InvalidRequest", e.GetType())
	}
	if e.GetMessage() != want {
		t.Errorf("message\n got %q\nwant %q", e.GetMessage(), want)
	}
}

func runAction() *Action {
	return &Action{RunAction: &RunAction{Path: "/bin/app", User: "vcap"}}
}

// validDesiredLRP uses every optional part, each valid.
func validDesiredLRP() *DesiredLRP {
	return &DesiredLRP{
		ProcessGuid: "app-guid_1", Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4",
		Instances: 2, MemoryMb: 256, DiskMb: 1024, MaxPids: 1024,
		Action:               runAction(),
		Setup:                &Action{DownloadAction: &DownloadAction{From: "http://x/droplet", To: "/app", User: "vcap"}},
		Monitor:              &Action{TimeoutAction: &TimeoutAction{Action: runAction(), TimeoutMs: 30000}},
		EnvironmentVariables: []*EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		EgressRules:          []*SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"10.0.0.0/8"}, Ports: []uint32{443}}},
		CachedDependencies:   []*CachedDependency{{Name: "lifecycle", From: "http://x/l.tgz", To: "/tmp/l", CacheKey: "l"}},
		ImageLayers: []*ImageLayer{{
			Url: "http://x/layer", DestinationPath: "/layer", LayerType: ImageLayer_EXCLUSIVE,
			MediaType: ImageLayer_TGZ, DigestAlgorithm: ImageLayer_SHA256, DigestValue: "abc",
		}},
		LegacyDownloadUser: "vcap",
		Sidecars:           []*Sidecar{{Action: runAction(), MemoryMb: 16}},
		VolumeMounts:       []*VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw", Shared: &SharedDevice{VolumeId: "v1"}}},
		ImageUsername:      "user", ImagePassword: "secret",
		CheckDefinition: &CheckDefinition{Checks: []*Check{{HttpCheck: &HTTPCheck{Port: 8080, Path: "/"}}}},
		LogRateLimit:    &LogRateLimit{BytesPerSecond: -1},
		Annotation:      "etag",
		Routes:          &ProtoRoutes{Routes: map[string][]byte{"cf-router": []byte(`[{"hostnames":["a"],"port":8080}]`)}},
		MetricsGuid:     "app-guid",
		MetricTags: map[string]*MetricTagValue{
			"source_id": {Static: "app-guid"},
			"index":     {Dynamic: MetricTagValue_INDEX},
		},
		VolumeMountedFiles: []*File{{Path: "/etc/x", Content: "x"}},
	}
}

func TestDesiredLRPValidation(t *testing.T) {
	bigRoutes := func(n int) *ProtoRoutes {
		return &ProtoRoutes{Routes: map[string][]byte{"a": make([]byte, n/2), "b": make([]byte, n-n/2)}}
	}
	files := func(n int) []*File {
		return []*File{{Path: "a", Content: strings.Repeat("x", n/2)}, {Path: "b", Content: strings.Repeat("x", n-n/2)}}
	}
	cases := []struct {
		name   string
		mutate func(d *DesiredLRP)
		want   string
	}{
		{"valid", func(d *DesiredLRP) {}, ""},
		{"process guid with a space", func(d *DesiredLRP) { d.ProcessGuid = "a b" }, "Invalid field: process_guid"},
		{"process guid empty", func(d *DesiredLRP) { d.ProcessGuid = "" }, "Invalid field: process_guid"},
		{"process guid non-ascii", func(d *DesiredLRP) { d.ProcessGuid = "é" }, "Invalid field: process_guid"},
		{"domain empty, reported twice", func(d *DesiredLRP) { d.Domain = "" },
			"Invalid field: domain, Invalid field: domain"},
		{"rootfs empty, reported twice", func(d *DesiredLRP) { d.RootFs = "" },
			"Invalid field: rootfs, Invalid field: rootfs"},
		{"rootfs without scheme", func(d *DesiredLRP) { d.RootFs = "cflinuxfs4" }, "Invalid field: rootfs"},
		{"rootfs unparsable", func(d *DesiredLRP) { d.RootFs = "%zz" }, "Invalid field: rootfs"},
		{"rootfs docker", func(d *DesiredLRP) { d.RootFs = "docker:///cloudfoundry/grace" }, ""},
		{"instances negative", func(d *DesiredLRP) { d.Instances = -1 }, "Invalid field: instances"},
		{"instances zero", func(d *DesiredLRP) { d.Instances = 0 }, ""},
		{"memory negative", func(d *DesiredLRP) { d.MemoryMb = -1 }, "Invalid field: memory_mb"},
		{"disk negative", func(d *DesiredLRP) { d.DiskMb = -1 }, "Invalid field: disk_mb"},
		{"max pids negative", func(d *DesiredLRP) { d.MaxPids = -1 }, "Invalid field: max_pids"},
		{"log rate below -1, two names", func(d *DesiredLRP) { d.LogRateLimit.BytesPerSecond = -2 },
			"Invalid field: log_rate_limit_bytes_per_second, Invalid field: log_rate_limit"},
		{"log rate zero", func(d *DesiredLRP) { d.LogRateLimit.BytesPerSecond = 0 }, ""},
		{"annotation at limit", func(d *DesiredLRP) { d.Annotation = strings.Repeat("a", 10*1024) }, ""},
		{"annotation over limit", func(d *DesiredLRP) { d.Annotation = strings.Repeat("a", 10*1024+1) }, "Invalid field: annotation"},
		{"routes at limit", func(d *DesiredLRP) { d.Routes = bigRoutes(128 * 1024) }, ""},
		{"routes over limit", func(d *DesiredLRP) { d.Routes = bigRoutes(128*1024 + 1) }, "Invalid field: routes"},
		{"metric tags missing", func(d *DesiredLRP) { d.MetricTags = nil }, "Invalid field: metric_tags"},
		{"metric tags empty", func(d *DesiredLRP) { d.MetricTags = map[string]*MetricTagValue{} }, "Invalid field: metric_tags"},
		{"metric tag static and dynamic", func(d *DesiredLRP) {
			d.MetricTags["x"] = &MetricTagValue{Static: "s", Dynamic: MetricTagValue_INSTANCE_GUID}
		}, "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"metric tag neither", func(d *DesiredLRP) { d.MetricTags["x"] = &MetricTagValue{} },
			"Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"metric tag nil value", func(d *DesiredLRP) { d.MetricTags["x"] = nil },
			"Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"source_id differs from metrics_guid", func(d *DesiredLRP) { d.MetricTags["source_id"].Static = "other" },
			"Invalid field: metric_tags, Invalid field: source_id should match metrics_guid"},
		{"source_id missing with metrics_guid", func(d *DesiredLRP) { delete(d.MetricTags, "source_id") },
			"Invalid field: metric_tags, Invalid field: source_id should match metrics_guid"},
		{"no metrics_guid, any source_id", func(d *DesiredLRP) { d.MetricsGuid = ""; d.MetricTags["source_id"].Static = "z" }, ""},
		{"action missing", func(d *DesiredLRP) { d.Action = nil }, "invalid action type"},
		{"action invalid", func(d *DesiredLRP) { d.Action = &Action{RunAction: &RunAction{}} },
			"Invalid field: action, Invalid field: path, Invalid field: user"},
		{"action without variant", func(d *DesiredLRP) { d.Action = &Action{} },
			"Invalid field: action, Invalid field: inner-action"},
		{"setup invalid", func(d *DesiredLRP) { d.Setup.DownloadAction.User = "" }, "Invalid field: setup, Invalid field: user"},
		{"setup absent", func(d *DesiredLRP) { d.Setup = nil }, ""},
		{"monitor invalid", func(d *DesiredLRP) { d.Monitor.TimeoutAction.TimeoutMs = 0 },
			"Invalid field: monitor, Invalid field: timeout_ms"},
		{"env name blank", func(d *DesiredLRP) {
			d.EnvironmentVariables = append(d.EnvironmentVariables, &EnvironmentVariable{Value: "v"}, nil)
		}, "invalid field: name cannot be blank, invalid field: name cannot be blank"},
		{"egress rule invalid, with details", func(d *DesiredLRP) { d.EgressRules[0].Protocol = "sctp" },
			"Invalid field: egress_rules, Invalid field: protocol"},
		{"cached dependency invalid", func(d *DesiredLRP) { d.CachedDependencies[0].From = "" },
			"Invalid field: cached_dependency, Invalid field: from"},
		{"image layer invalid", func(d *DesiredLRP) { d.ImageLayers[0].Url = "" },
			"Invalid field: image_layer, Invalid field: url"},
		{"exclusive layer needs legacy user", func(d *DesiredLRP) { d.LegacyDownloadUser = "" },
			"Invalid field: legacy_download_user"},
		{"sidecars reported once", func(d *DesiredLRP) {
			d.Sidecars = append(d.Sidecars, &Sidecar{MemoryMb: -1}, &Sidecar{Action: &Action{}, DiskMb: -1})
		}, "Invalid field: sidecars, invalid action type, Invalid field: memory_mb, Invalid field: action, Invalid field: inner-action, Invalid field: disk_mb"},
		{"volume mount invalid", func(d *DesiredLRP) { d.VolumeMounts[0].Mode = "w" }, "invalid volume_mount mode"},
		{"image password alone", func(d *DesiredLRP) { d.ImageUsername = "" }, "Invalid field: image_username"},
		{"image username alone", func(d *DesiredLRP) { d.ImagePassword = "" }, "Invalid field: image_password"},
		{"no image credentials", func(d *DesiredLRP) { d.ImageUsername, d.ImagePassword = "", "" }, ""},
		{"check definition invalid", func(d *DesiredLRP) { d.CheckDefinition.Checks[0].HttpCheck.Port = 0 },
			"Invalid field: check_definition, Invalid field: port"},
		{"volume mounted files at limit", func(d *DesiredLRP) { d.VolumeMountedFiles = files(1 << 20) }, ""},
		{"volume mounted files over limit, twice", func(d *DesiredLRP) { d.VolumeMountedFiles = files(1<<20 + 1) },
			"Invalid field: volumeMountedFiles, Invalid field: volumeMountedFiles"},
		{"order: own fields, tags, then run info", func(d *DesiredLRP) {
			d.ProcessGuid, d.Instances, d.MetricTags, d.ImagePassword = "", -1, nil, ""
		}, "Invalid field: instances, Invalid field: metric_tags, Invalid field: process_guid, Invalid field: image_password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := validDesiredLRP()
			c.mutate(d)
			checkValidation(t, d.Validate(), c.want)
			checkValidation(t, (&DesireLRPRequest{DesiredLrp: d}).Validate(), c.want)
		})
	}
}

func TestEmptyDesiredLRP(t *testing.T) {
	want := "Invalid field: domain, Invalid field: rootfs, Invalid field: rootfs, Invalid field: metric_tags, " +
		"Invalid field: domain, Invalid field: process_guid, invalid action type"
	checkValidation(t, (&DesireLRPRequest{DesiredLrp: &DesiredLRP{}}).Validate(), want)
	checkValidation(t, (*DesiredLRP)(nil).Validate(), want)
	checkValidation(t, (&DesireLRPRequest{}).Validate(), "Invalid field: desired_lrp")
}

func TestDesiredLRPUpdateValidation(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	str := func(v string) *string { return &v }
	cases := []struct {
		name string
		req  *UpdateDesiredLRPRequest
		want string
	}{
		{"empty update", &UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &DesiredLRPUpdate{}}, ""},
		{"scale to zero", &UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &DesiredLRPUpdate{Instances: i32(0)}}, ""},
		{"no process guid", &UpdateDesiredLRPRequest{Update: &DesiredLRPUpdate{}}, "Invalid field: process_guid"},
		{"process guid is not pattern-checked", &UpdateDesiredLRPRequest{ProcessGuid: "a b", Update: &DesiredLRPUpdate{}}, ""},
		{"no update", &UpdateDesiredLRPRequest{ProcessGuid: "p"}, "Invalid field: update"},
		{"nothing", &UpdateDesiredLRPRequest{}, "Invalid field: process_guid, Invalid field: update"},
		{"negative instances", &UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &DesiredLRPUpdate{Instances: i32(-1)}},
			"Invalid field: instances"},
		{"annotation over limit", &UpdateDesiredLRPRequest{ProcessGuid: "p",
			Update: &DesiredLRPUpdate{Annotation: str(strings.Repeat("a", 10*1024+1))}}, "Invalid field: annotation"},
		{"routes over limit", &UpdateDesiredLRPRequest{ProcessGuid: "p",
			Update: &DesiredLRPUpdate{Routes: &ProtoRoutes{Routes: map[string][]byte{"r": make([]byte, 128*1024+1)}}}},
			"Invalid field: routes"},
		{"invalid metric tag", &UpdateDesiredLRPRequest{ProcessGuid: "p",
			Update: &DesiredLRPUpdate{MetricTags: map[string]*MetricTagValue{"a": {}}}},
			"Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"any source_id", &UpdateDesiredLRPRequest{ProcessGuid: "p",
			Update: &DesiredLRPUpdate{MetricTags: map[string]*MetricTagValue{"source_id": {Static: "x"}}}}, ""},
		{"username alone", &UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &DesiredLRPUpdate{ImageUsername: str("")}},
			"Invalid field: image_password"},
		{"password alone", &UpdateDesiredLRPRequest{ProcessGuid: "p", Update: &DesiredLRPUpdate{ImagePassword: str("x")}},
			"Invalid field: image_username"},
		{"both, even empty", &UpdateDesiredLRPRequest{ProcessGuid: "p",
			Update: &DesiredLRPUpdate{ImageUsername: str(""), ImagePassword: str("")}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkValidation(t, c.req.Validate(), c.want)
		})
	}
}

func validTaskDefinition() *TaskDefinition {
	return &TaskDefinition{
		RootFs: "docker:///busybox", Action: runAction(), MemoryMb: 64, DiskMb: 64, MaxPids: 10,
		LogRateLimit:       &LogRateLimit{BytesPerSecond: 100},
		EgressRules:        []*SecurityGroupRule{{Protocol: "all", Destinations: []string{"0.0.0.0-255.255.255.255"}}},
		CachedDependencies: []*CachedDependency{{From: "f", To: "t", ChecksumAlgorithm: "SHA256", ChecksumValue: "v"}},
		ImageLayers:        []*ImageLayer{{Url: "u", DestinationPath: "/d", LayerType: ImageLayer_SHARED, MediaType: ImageLayer_ZIP}},
	}
}

func TestDesireTaskValidation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *DesireTaskRequest)
		want   string
	}{
		{"valid", func(r *DesireTaskRequest) {}, ""},
		{"guid pattern", func(r *DesireTaskRequest) { r.TaskGuid = "a/b" }, "Invalid field: task_guid"},
		{"domain", func(r *DesireTaskRequest) { r.Domain = "" }, "Invalid field: domain"},
		{"no definition", func(r *DesireTaskRequest) { r.TaskDefinition = nil }, "Invalid field: task_definition"},
		{"empty definition", func(r *DesireTaskRequest) { r.TaskDefinition = &TaskDefinition{} },
			"Invalid field: rootfs, invalid action type"},
		{"rootfs without scheme", func(r *DesireTaskRequest) { r.TaskDefinition.RootFs = "busybox" }, "Invalid field: rootfs"},
		{"action invalid", func(r *DesireTaskRequest) { r.TaskDefinition.Action = &Action{UploadAction: &UploadAction{}} },
			"Invalid field: action, Invalid field: to, Invalid field: from, Invalid field: user"},
		{"memory", func(r *DesireTaskRequest) { r.TaskDefinition.MemoryMb = -1 }, "Invalid field: memory_mb"},
		{"disk", func(r *DesireTaskRequest) { r.TaskDefinition.DiskMb = -1 }, "Invalid field: disk_mb"},
		{"log rate", func(r *DesireTaskRequest) { r.TaskDefinition.LogRateLimit.BytesPerSecond = -2 }, "Invalid field: log_rate_limit"},
		{"max pids", func(r *DesireTaskRequest) { r.TaskDefinition.MaxPids = -1 }, "Invalid field: max_pids"},
		{"annotation", func(r *DesireTaskRequest) { r.TaskDefinition.Annotation = strings.Repeat("a", 10*1024+1) },
			"Invalid field: annotation"},
		{"egress rule, without details", func(r *DesireTaskRequest) { r.TaskDefinition.EgressRules[0].Destinations = nil },
			"Invalid field: egress_rules"},
		{"image username alone", func(r *DesireTaskRequest) { r.TaskDefinition.ImageUsername = "u" }, "Invalid field: image_password"},
		{"cached dependency", func(r *DesireTaskRequest) { r.TaskDefinition.CachedDependencies[0].ChecksumValue = "" },
			"Invalid field: cached_dependency, Invalid field: checksum value"},
		{"image layer", func(r *DesireTaskRequest) { r.TaskDefinition.ImageLayers[0].MediaType = 0 },
			"Invalid field: image_layer, Invalid field: media_type"},
		{"env and mounts are not checked", func(r *DesireTaskRequest) {
			r.TaskDefinition.EnvironmentVariables = []*EnvironmentVariable{{}}
			r.TaskDefinition.VolumeMounts = []*VolumeMount{{}}
		}, ""},
		{"order", func(r *DesireTaskRequest) {
			r.TaskGuid, r.Domain, r.TaskDefinition.MaxPids, r.TaskDefinition.ImagePassword = "", "", -1, "p"
		}, "Invalid field: task_guid, Invalid field: domain, Invalid field: max_pids, Invalid field: image_username"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &DesireTaskRequest{TaskGuid: "task-1", Domain: "cf-tasks", TaskDefinition: validTaskDefinition()}
			c.mutate(r)
			checkValidation(t, r.Validate(), c.want)
		})
	}
}
