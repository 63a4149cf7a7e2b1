package models

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
)

// decodeAny parses JSON keeping numbers exact, for order-insensitive
// comparison.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	if !reflect.DeepEqual(decodeAny(t, got), decodeAny(t, []byte(want))) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, want)
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// jsonGoldens are messages and the JSON the reference printed for them, as
// derived from its struct tags and custom marshallers: explicit tags are
// printed even when empty, other fields only when set; embedded keys are
// flattened; some enums print names; int64s print as numbers.
var jsonGoldens = []struct {
	name string
	msg  proto.Message
	want string
}{
	{"ActualLRP running", &ActualLRP{
		ActualLrpKey:         &ActualLRPKey{ProcessGuid: "web-1", Index: 2, Domain: "cf-apps"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: "ig-1", CellId: "cell-1"},
		ActualLrpNetInfo: &ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*PortMapping{{ContainerPort: 8080, HostPort: 61001}},
			InstanceAddress: "10.255.0.2", PreferredAddress: ActualLRPNetInfo_INSTANCE},
		CrashCount: 1, State: "RUNNING", Since: 1700000000000000001,
		ModificationTag: &ModificationTag{Epoch: "e", Index: 3}, Presence: ActualLRP_EVACUATING,
		ActualLrpInternalRoutes: []*ActualLRPInternalRoute{{Hostname: "web.apps.internal"}},
		MetricTags:              map[string]string{"source_id": "app"}, Routable: ptr(true), AvailabilityZone: "z1",
	}, `{"process_guid":"web-1","index":2,"domain":"cf-apps","instance_guid":"ig-1","cell_id":"cell-1",
		"address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61001,"container_tls_proxy_port":0,"host_tls_proxy_port":0}],
		"instance_address":"10.255.0.2","preferred_address":"INSTANCE","crash_count":1,"state":"RUNNING",
		"since":1700000000000000001,"modification_tag":{"epoch":"e","index":3},"presence":"EVACUATING",
		"actual_lrp_internal_routes":[{"hostname":"web.apps.internal"}],"metric_tags":{"source_id":"app"},
		"OptionalRoutable":{"routable":true},"availability_zone":"z1"}`},
	{"ActualLRP unclaimed", &ActualLRP{
		ActualLrpKey: &ActualLRPKey{ProcessGuid: "p", Domain: "d"}, State: "UNCLAIMED", Since: 5,
		PlacementError: "insufficient resources", ModificationTag: &ModificationTag{Epoch: "e"}, Routable: ptr(false),
	}, `{"process_guid":"p","index":0,"domain":"d","instance_guid":"","cell_id":"","address":"","ports":null,
		"preferred_address":"UNKNOWN","crash_count":0,"state":"UNCLAIMED","placement_error":"insufficient resources",
		"since":5,"modification_tag":{"epoch":"e","index":0},"presence":"ORDINARY",
		"OptionalRoutable":{"routable":false},"availability_zone":""}`},
	{"ActualLRP routable unset", &ActualLRP{},
		`{"process_guid":"","index":0,"domain":"","instance_guid":"","cell_id":"","address":"","ports":null,
		"preferred_address":"UNKNOWN","crash_count":0,"state":"","since":0,"modification_tag":{"epoch":"","index":0},
		"presence":"ORDINARY","OptionalRoutable":null,"availability_zone":""}`},
	{"DesiredLRP", &DesiredLRP{
		ProcessGuid: "pg", Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: 2,
		EnvironmentVariables: []*EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Setup:                &Action{DownloadAction: &DownloadAction{From: "http://x/droplet", To: "/home/vcap", CacheKey: "droplets-pg", User: "vcap"}},
		Action: &Action{RunAction: &RunAction{Path: "/bin/start", Args: []string{"-p", "8080"}, User: "vcap",
			ResourceLimits: &ResourceLimits{Nofile: ptr(uint64(1024))}}},
		Monitor: &Action{TimeoutAction: &TimeoutAction{
			Action: &Action{RunAction: &RunAction{Path: "/bin/check", User: "vcap"}}, TimeoutMs: 30000}},
		StartTimeoutMs: 60000, DeprecatedStartTimeoutS: 60, DiskMb: 1024, MemoryMb: 256, CpuWeight: 10,
		Ports:     []uint32{8080, 2222},
		Routes:    NewRoutes(map[string]json.RawMessage{"cf-router": raw(`[{"hostnames":["a.example.com"],"port":8080}]`)}),
		LogSource: "APP", LogGuid: "lg", MetricsGuid: "mg", Annotation: "etag",
		EgressRules: []*SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"0.0.0.0/0"},
			PortRange: &PortRange{Start: 80, End: 443}}},
		ModificationTag: &ModificationTag{Epoch: "e", Index: 1},
		CachedDependencies: []*CachedDependency{{Name: "lifecycle", From: "http://fs/l.tgz", To: "/tmp/lifecycle",
			CacheKey: "ck"}},
		LegacyDownloadUser: "vcap", TrustedSystemCertificatesPath: "/etc/cf-system-certificates",
		VolumeMounts: []*VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw",
			Shared: &SharedDevice{VolumeId: "v1", MountConfig: "{}"}}},
		Network:       &Network{Properties: map[string]string{"app_id": "a"}},
		PlacementTags: []string{"iso-1"}, MaxPids: 1024,
		CertificateProperties: &CertificateProperties{OrganizationalUnit: []string{"app:a"}},
		ImageUsername:         "u", ImagePassword: "pw",
		CheckDefinition: &CheckDefinition{LogSource: "HEALTH",
			Checks: []*Check{{HttpCheck: &HTTPCheck{Port: 8080, Path: "/health", RequestTimeoutMs: 1000}}}},
		ImageLayers: []*ImageLayer{{Url: "http://l", DestinationPath: "/", LayerType: ImageLayer_SHARED,
			MediaType: ImageLayer_TGZ, DigestAlgorithm: ImageLayer_SHA256, DigestValue: "abc"}},
		MetricTags: map[string]*MetricTagValue{"index": {Dynamic: MetricTagValue_INDEX}, "app": {Static: "a"}},
		Sidecars: []*Sidecar{{Action: &Action{RunAction: &RunAction{Path: "/bin/side", User: "vcap"}},
			DiskMb: 10, MemoryMb: 20}},
		LogRateLimit:       &LogRateLimit{BytesPerSecond: -1},
		VolumeMountedFiles: []*File{{Path: "/etc/x", Content: "y"}},
		UpdateStrategy:     DesiredLRP_RECREATE,
	}, `{"process_guid":"pg","domain":"cf-apps","rootfs":"preloaded:cflinuxfs4","instances":2,
		"env":[{"name":"PORT","value":"8080"}],
		"setup":{"download":{"from":"http://x/droplet","to":"/home/vcap","cache_key":"droplets-pg","user":"vcap"}},
		"action":{"run":{"path":"/bin/start","args":["-p","8080"],"resource_limits":{"nofile":1024},"user":"vcap",
			"suppress_log_output":false,"volume_mounted_files":null}},
		"start_timeout_ms":60000,"deprecated_timeout_ns":60,
		"monitor":{"timeout":{"action":{"run":{"path":"/bin/check","user":"vcap","suppress_log_output":false,
			"volume_mounted_files":null}},"timeout_ms":30000}},
		"disk_mb":1024,"memory_mb":256,"cpu_weight":10,"privileged":false,"ports":[8080,2222],
		"routes":{"cf-router":[{"hostnames":["a.example.com"],"port":8080}]},
		"log_source":"APP","log_guid":"lg","metrics_guid":"mg","annotation":"etag",
		"egress_rules":[{"protocol":"tcp","destinations":["0.0.0.0/0"],"port_range":{"start":80,"end":443},"log":false}],
		"modification_tag":{"epoch":"e","index":1},
		"cached_dependencies":[{"name":"lifecycle","from":"http://fs/l.tgz","to":"/tmp/lifecycle","cache_key":"ck","log_source":""}],
		"legacy_download_user":"vcap","trusted_system_certificates_path":"/etc/cf-system-certificates",
		"volume_mounts":[{"driver":"nfs","container_dir":"/data","mode":"rw",
			"shared":{"volume_id":"v1","mount_config":"{}"},"dedicated":null}],
		"network":{"properties":{"app_id":"a"}},"placement_tags":["iso-1"],"max_pids":1024,
		"certificate_properties":{"organizational_unit":["app:a"]},"image_username":"u","image_password":"pw",
		"check_definition":{"checks":[{"http_check":{"port":8080,"request_timeout_ms":1000,"path":"/health"}}],"log_source":"HEALTH"},
		"image_layers":[{"url":"http://l","destination_path":"/","layer_type":"SHARED","media_type":"TGZ",
			"digest_algorithm":"SHA256","digest_value":"abc"}],
		"metric_tags":{"app":{"static":"a"},"index":{"dynamic":"INDEX"}},
		"sidecars":[{"action":{"run":{"path":"/bin/side","user":"vcap","suppress_log_output":false,
			"volume_mounted_files":null}},"disk_mb":10,"memory_mb":20}],
		"log_rate_limit":{"bytes_per_second":-1},"volume_mounted_files":[{"path":"/etc/x","content":"y"}],
		"update_strategy":1}`},
	{"DesiredLRP empty routes", &DesiredLRP{ProcessGuid: "pg", Routes: &ProtoRoutes{}},
		`{"process_guid":"pg","domain":"","rootfs":"","instances":0,"env":null,"start_timeout_ms":0,"disk_mb":0,
		"memory_mb":0,"cpu_weight":0,"privileged":false,"routes":{},"log_source":"","log_guid":"","metrics_guid":"",
		"annotation":"","max_pids":0,"volume_mounted_files":null,"update_strategy":0}`},
	{"DesiredLRPSchedulingInfo", &DesiredLRPSchedulingInfo{
		DesiredLrpKey: &DesiredLRPKey{ProcessGuid: "pg", Domain: "cf-apps", LogGuid: "lg"}, Annotation: "a", Instances: 3,
		DesiredLrpResource: &DesiredLRPResource{MemoryMb: 256, DiskMb: 1024, RootFs: "preloaded:cflinuxfs4"},
		Routes:             NewRoutes(map[string]json.RawMessage{"cf-router": raw(`[]`), "tcp-router": raw(`[{"external_port":1}]`)}),
		ModificationTag:    &ModificationTag{Epoch: "e", Index: 2},
		VolumePlacement:    &VolumePlacement{DriverNames: []string{"nfs"}}, PlacementTags: []string{"iso"},
	}, `{"process_guid":"pg","domain":"cf-apps","log_guid":"lg","annotation":"a","instances":3,"memory_mb":256,
		"disk_mb":1024,"rootfs":"preloaded:cflinuxfs4","max_pids":0,
		"routes":{"cf-router":[],"tcp-router":[{"external_port":1}]},"epoch":"e","index":2,
		"volume_placement":{"driver_names":["nfs"]},"placement_tags":["iso"]}`},
	{"DesiredLRPSchedulingInfo empty", &DesiredLRPSchedulingInfo{},
		`{"process_guid":"","domain":"","log_guid":"","annotation":"","instances":0,"memory_mb":0,"disk_mb":0,
		"rootfs":"","max_pids":0,"routes":null,"epoch":"","index":0}`},
	{"Task", &Task{
		TaskDefinition: &TaskDefinition{RootFs: "docker:///busybox",
			EnvironmentVariables: []*EnvironmentVariable{{Name: "A", Value: "1"}},
			Action:               &Action{RunAction: &RunAction{Path: "echo", Args: []string{"hi"}, User: "root"}},
			DiskMb:               10, MemoryMb: 20, CpuWeight: 1, Privileged: true, LogSource: "TASK", LogGuid: "lg",
			ResultFile: "/tmp/r", CompletionCallbackUrl: "https://cc/cb", Annotation: "ann", PlacementTags: []string{"p"}},
		TaskGuid: "tg", Domain: "d", CreatedAt: 1, UpdatedAt: 2, FirstCompletedAt: 3, State: Task_Completed,
		CellId: "c", Result: "ok", Failed: true, FailureReason: "boom", RejectionCount: 1, RejectionReason: "full",
	}, `{"rootfs":"docker:///busybox","env":[{"name":"A","value":"1"}],
		"action":{"run":{"path":"echo","args":["hi"],"user":"root","suppress_log_output":false,"volume_mounted_files":null}},
		"disk_mb":10,"memory_mb":20,"cpu_weight":1,"privileged":true,"log_source":"TASK","log_guid":"lg",
		"metrics_guid":"","result_file":"/tmp/r","completion_callback_url":"https://cc/cb","annotation":"ann",
		"placement_tags":["p"],"max_pids":0,"image_username":"","image_password":"","volume_mounted_files":null,
		"task_guid":"tg","domain":"d","created_at":1,"updated_at":2,"first_completed_at":3,"state":"Completed",
		"cell_id":"c","result":"ok","failed":true,"failure_reason":"boom","rejection_count":1,"rejection_reason":"full"}`},
	{"Task without definition", &Task{TaskGuid: "t", State: Task_Pending},
		`{"task_guid":"t","domain":"","created_at":0,"updated_at":0,"first_completed_at":0,"state":"Pending",
		"cell_id":"","result":"","failed":false,"failure_reason":"","rejection_count":0,"rejection_reason":""}`},
	{"CellPresence", &CellPresence{CellId: "cell-z1-0", RepAddress: "http://10.0.1.5:1800", Zone: "z1",
		Capacity:        &CellCapacity{MemoryMb: 16384, DiskMb: 65536, Containers: 250},
		RootfsProviders: []*Provider{{Name: "preloaded", Properties: []string{"cflinuxfs4"}}, {Name: "docker"}},
		PlacementTags:   []string{"t"}, RepUrl: "https://cell-z1-0.cell.service.cf.internal:1801",
	}, `{"cell_id":"cell-z1-0","rep_address":"http://10.0.1.5:1800","zone":"z1",
		"capacity":{"memory_mb":16384,"disk_mb":65536,"containers":250},
		"rootfs_provider_list":[{"name":"preloaded","properties":["cflinuxfs4"]},{"name":"docker"}],
		"placement_tags":["t"],"rep_url":"https://cell-z1-0.cell.service.cf.internal:1801","annotations":{}}`},
	{"CellPresence annotations", &CellPresence{CellId: "c", Annotations: map[string]string{"k": "v"}},
		`{"cell_id":"c","rep_address":"","zone":"","rep_url":"","annotations":{"k":"v"}}`},
	{"DesiredLRPUpdate all set", &DesiredLRPUpdate{Instances: ptr(int32(0)),
		Routes:     NewRoutes(map[string]json.RawMessage{"cf-router": raw(`[{"hostnames":["h"],"port":8080}]`)}),
		Annotation: ptr(""), MetricTags: map[string]*MetricTagValue{"x": {Static: "y"}},
		ImageUsername: ptr("u"), ImagePassword: ptr("p"),
	}, `{"instances":0,"routes":{"cf-router":[{"hostnames":["h"],"port":8080}]},"annotation":"",
		"metric_tags":{"x":{"static":"y"}},"image_username":"u","image_password":"p"}`},
	{"DesiredLRPUpdate empty", &DesiredLRPUpdate{}, `{}`},
	{"DesiredLRPUpdate routes emptied", &DesiredLRPUpdate{Routes: &ProtoRoutes{}}, `{"routes":{}}`},
	{"Error", &Error{Type: Error_ResourceNotFound, Message: "the requested resource could not be found"},
		`{"type":"ResourceNotFound","message":"the requested resource could not be found"}`},
	{"Error empty", &Error{}, `{"type":"UnknownError","message":""}`},
	{"response with error", &DesiredLRPLifecycleResponse{Error: &Error{Type: Error_InvalidRequest, Message: "m"}},
		`{"error":{"type":"InvalidRequest","message":"m"}}`},
	{"instance changed event", &ActualLRPInstanceChangedEvent{
		ActualLrpKey:         &ActualLRPKey{ProcessGuid: "pg", Domain: "d"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "c"},
		Before: &ActualLRPInfo{State: "CLAIMED", Since: 1, ModificationTag: &ModificationTag{Epoch: "e", Index: 1},
			Routable: ptr(false)},
		After: &ActualLRPInfo{ActualLrpNetInfo: &ActualLRPNetInfo{Address: "10.0.0.1",
			Ports: []*PortMapping{{ContainerPort: 8080, HostPort: 61000}}, PreferredAddress: ActualLRPNetInfo_HOST},
			State: "RUNNING", Since: 2, ModificationTag: &ModificationTag{Epoch: "e", Index: 2}, Routable: ptr(true),
			AvailabilityZone: "z1"},
		TraceId: "tr",
	}, `{"process_guid":"pg","index":0,"domain":"d","instance_guid":"ig","cell_id":"c",
		"before":{"address":"","ports":null,"preferred_address":"UNKNOWN","crash_count":0,"state":"CLAIMED","since":1,
			"modification_tag":{"epoch":"e","index":1},"presence":"ORDINARY","OptionalRoutable":{},"availability_zone":""},
		"after":{"address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000,"container_tls_proxy_port":0,
			"host_tls_proxy_port":0}],"preferred_address":"HOST","crash_count":0,"state":"RUNNING","since":2,
			"modification_tag":{"epoch":"e","index":2},"presence":"ORDINARY","OptionalRoutable":{"Routable":true},
			"availability_zone":"z1"},
		"trace_id":"tr"}`},
	{"crashed event", &ActualLRPCrashedEvent{ActualLrpKey: &ActualLRPKey{ProcessGuid: "pg", Index: 1, Domain: "d"},
		ActualLrpInstanceKey: &ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "c"},
		CrashCount:           2, CrashReason: "exit 1", Since: 9,
	}, `{"process_guid":"pg","index":1,"domain":"d","instance_guid":"ig","cell_id":"c","crash_count":2,
		"crash_reason":"exit 1","since":9}`},
	{"task removed event", &TaskRemovedEvent{Task: &Task{TaskGuid: "t", State: Task_Resolving}},
		`{"task":{"task_guid":"t","domain":"","created_at":0,"updated_at":0,"first_completed_at":0,"state":"Resolving",
		"cell_id":"","result":"","failed":false,"failure_reason":"","rejection_count":0,"rejection_reason":""}}`},
	{"desired removed event", &DesiredLRPRemovedEvent{DesiredLrp: &DesiredLRP{ProcessGuid: "pg"}},
		`{"desired_lrp":{"process_guid":"pg","domain":"","rootfs":"","instances":0,"env":null,"start_timeout_ms":0,
		"disk_mb":0,"memory_mb":0,"cpu_weight":0,"privileged":false,"log_source":"","log_guid":"","metrics_guid":"",
		"annotation":"","max_pids":0,"volume_mounted_files":null,"update_strategy":0},"trace_id":""}`},
	{"group created event", &ActualLRPCreatedEvent{ActualLrpGroup: &ActualLRPGroup{Evacuating: &ActualLRP{State: "RUNNING"}}},
		`{"actual_lrp_group":{"evacuating":{"process_guid":"","index":0,"domain":"","instance_guid":"","cell_id":"",
		"address":"","ports":null,"preferred_address":"UNKNOWN","crash_count":0,"state":"RUNNING","since":0,
		"modification_tag":{"epoch":"","index":0},"presence":"ORDINARY","OptionalRoutable":null,"availability_zone":""}}}`},
	{"task callback", &TaskCallbackResponse{TaskGuid: "t", Result: "r", CreatedAt: 5},
		`{"task_guid":"t","failed":false,"failure_reason":"","result":"r","created_at":5}`},
	{"ActualLRPsRequest index 0", &ActualLRPsRequest{Domain: "d", Index: ptr(int32(0))},
		`{"domain":"d","cell_id":"","process_guid":"","index":0}`},
	{"ActualLRPsRequest no index", &ActualLRPsRequest{}, `{"domain":"","cell_id":"","process_guid":""}`},
	{"start request", &StartActualLRPRequest{Routable: ptr(true)}, `{"OptionalRoutable":{"Routable":true},"availability_zone":""}`},
	{"resource limits", &ResourceLimits{Nproc: ptr(uint64(0))}, `{"nproc":0}`},
	{"ping", &PingResponse{}, `{"available":false}`},
}

func TestJSONGoldens(t *testing.T) {
	for _, tt := range jsonGoldens {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, got, tt.want)
		})
	}
}

// TestJSONRoundTrip reads each golden back, sends it through the wire, and
// prints it again: JSON -> proto -> bytes -> proto -> JSON.
func TestJSONRoundTrip(t *testing.T) {
	for _, tt := range jsonGoldens {
		t.Run(tt.name, func(t *testing.T) {
			decoded := tt.msg.ProtoReflect().New().Interface()
			if err := json.Unmarshal([]byte(tt.want), decoded); err != nil {
				t.Fatal(err)
			}
			original := proto.Clone(tt.msg)
			FillNonNullable(original)
			if !proto.Equal(decoded, original) {
				t.Errorf("decoded %v\nwant    %v", decoded, original)
			}
			wire, err := Marshal(decoded)
			if err != nil {
				t.Fatal(err)
			}
			back := tt.msg.ProtoReflect().New().Interface()
			if err := Unmarshal(wire, back); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, got, tt.want)
		})
	}
}
