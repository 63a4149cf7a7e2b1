package models

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// wireFields is written from the reference notes (bbs-api.md §2.3, §3), not
// from our .proto files: message, then "number:name" for every field.
var wireFields = map[string]string{
	"ModificationTag":      "1:epoch 2:index",
	"Error":                "1:type 2:message",
	"ActualLRPKey":         "1:process_guid 2:index 3:domain",
	"ActualLRPInstanceKey": "1:instance_guid 2:cell_id",
	"PortMapping":          "1:container_port 2:host_port 3:container_tls_proxy_port 4:host_tls_proxy_port",
	"ActualLRPNetInfo":     "1:address 2:ports 3:instance_address 4:preferred_address 5:instance_ipv6_address",
	"ActualLRP": "1:actual_lrp_key 2:actual_lrp_instance_key 3:actual_lrp_net_info 4:crash_count " +
		"5:crash_reason 6:state 7:placement_error 8:since 9:modification_tag 10:presence " +
		"11:actual_lrp_internal_routes 12:metric_tags 13:routable 14:availability_zone",
	"ActualLRPInfo": "3:actual_lrp_net_info 4:crash_count 5:crash_reason 6:state 7:placement_error " +
		"8:since 9:modification_tag 10:presence 11:Routable 12:availability_zone",
	"ActualLRPGroup": "1:instance 2:evacuating",
	"DesiredLRP": "1:process_guid 2:domain 3:root_fs 4:instances 5:environment_variables 6:setup " +
		"7:action 8:deprecated_start_timeout_s 9:monitor 10:disk_mb 11:memory_mb 12:cpu_weight " +
		"13:privileged 14:ports 15:routes 16:log_source 17:log_guid 18:metrics_guid 19:annotation " +
		"20:egress_rules 21:modification_tag 22:cached_dependencies 23:legacy_download_user " +
		"24:trusted_system_certificates_path 25:volume_mounts 26:network 27:start_timeout_ms " +
		"28:PlacementTags 29:max_pids 30:certificate_properties 31:image_username 32:image_password " +
		"33:check_definition 34:image_layers 35:metric_tags 36:sidecars 37:log_rate_limit " +
		"38:volume_mounted_files 39:update_strategy",
	"DesiredLRPKey":      "1:process_guid 2:domain 3:log_guid",
	"DesiredLRPResource": "1:memory_mb 2:disk_mb 3:root_fs 4:max_pids",
	"DesiredLRPSchedulingInfo": "1:desired_lrp_key 2:annotation 3:instances 4:desired_lrp_resource " +
		"5:routes 6:modification_tag 7:volume_placement 8:PlacementTags",
	"DesiredLRPRunInfo": "1:desired_lrp_key 2:environment_variables 3:setup 4:action 5:monitor " +
		"6:deprecated_start_timeout_s 7:privileged 8:cpu_weight 9:ports 10:egress_rules 11:log_source " +
		"12:metrics_guid 13:created_at 14:cached_dependencies 15:legacy_download_user " +
		"16:trusted_system_certificates_path 17:volume_mounts 18:network 19:start_timeout_ms " +
		"20:certificate_properties 21:image_username 22:image_password 23:check_definition " +
		"24:image_layers 25:metric_tags 26:sidecars 27:log_rate_limit 28:volume_mounted_files",
	"ProtoRoutes":      "1:routes",
	"DesiredLRPUpdate": "1:instances 2:routes 3:annotation 4:metric_tags 5:image_username 6:image_password",
	"TaskDefinition": "1:root_fs 2:environment_variables 3:action 4:disk_mb 5:memory_mb 6:cpu_weight " +
		"7:privileged 8:log_source 9:log_guid 10:metrics_guid 11:result_file 12:completion_callback_url " +
		"13:annotation 14:egress_rules 15:cached_dependencies 16:legacy_download_user " +
		"17:trusted_system_certificates_path 18:volume_mounts 19:network 20:placement_tags 21:max_pids " +
		"22:certificate_properties 23:image_username 24:image_password 25:image_layers 26:log_rate_limit " +
		"27:metric_tags 28:volume_mounted_files",
	"Task": "1:task_definition 2:task_guid 3:domain 4:created_at 5:updated_at 6:first_completed_at " +
		"7:state 8:cell_id 9:result 10:failed 11:failure_reason 12:rejection_count 13:rejection_reason",
	"CellPresence": "1:cell_id 2:rep_address 3:zone 4:capacity 5:rootfs_providers 6:placement_tags " +
		"7:optional_placement_tags 8:rep_url 9:annotations",
	"ActualLRPsRequest": "1:domain 2:cell_id 3:process_guid 4:index",
	"StartActualLRPRequest": "1:actual_lrp_key 2:actual_lrp_instance_key 3:actual_lrp_net_info " +
		"4:actual_lrp_internal_routes 5:metric_tags 6:Routable 7:availability_zone",
	"EvacuateRunningActualLRPRequest": "1:actual_lrp_key 2:actual_lrp_instance_key 3:actual_lrp_net_info " +
		"5:actual_lrp_internal_routes 6:metric_tags 7:Routable 8:availability_zone",
	"ActualLRPInstanceChangedEvent": "1:actual_lrp_key 2:actual_lrp_instance_key 3:before 4:after 5:trace_id",
	"ActualLRPCrashedEvent":         "1:actual_lrp_key 2:actual_lrp_instance_key 3:crash_count 4:crash_reason 5:since",
	"DesiredLRPChangedEvent":        "1:before 2:after 3:trace_id",
	"TaskCallbackResponse":          "1:task_guid 2:failed 3:failure_reason 4:result 5:annotation 6:created_at",
	"CompleteTaskRequest":           "1:task_guid 2:cell_id 3:failed 4:failure_reason 5:result",
	"VolumeMount":                   "1:driver 3:container_dir 6:mode 7:shared 8:dedicated",
	"SecurityGroupRule":             "1:protocol 2:destinations 3:ports 4:port_range 5:icmp_info 6:log 7:annotations",
	"ResourceLimits":                "1:nofile 2:nproc",
	"ImageLayer":                    "1:name 2:url 3:destination_path 4:layer_type 5:media_type 6:digest_algorithm 7:digest_value",
}

func descriptorOf(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("models." + name))
	if err != nil {
		t.Fatalf("message %s: %v", name, err)
	}
	return d.(protoreflect.MessageDescriptor)
}

func TestFieldNumbers(t *testing.T) {
	for msg, spec := range wireFields {
		md := descriptorOf(t, msg)
		want := strings.Fields(spec)
		if md.Fields().Len() != len(want) {
			t.Errorf("%s has %d fields, reference has %d", msg, md.Fields().Len(), len(want))
		}
		for _, item := range want {
			num, name, _ := strings.Cut(item, ":")
			fd := md.Fields().ByName(protoreflect.Name(name))
			if fd == nil {
				t.Errorf("%s: no field %s", msg, name)
				continue
			}
			if got := fd.Number(); strconv.Itoa(int(got)) != num {
				t.Errorf("%s.%s = %d, reference %s", msg, name, got, num)
			}
		}
	}
}

// TestWireShapes checks the field properties that change bytes: unpacked
// ports, presence fields, and reserved numbers.
func TestWireShapes(t *testing.T) {
	for _, f := range []string{"DesiredLRP.ports", "DesiredLRPRunInfo.ports", "SecurityGroupRule.ports"} {
		msg, field, _ := strings.Cut(f, ".")
		if fd := descriptorOf(t, msg).Fields().ByName(protoreflect.Name(field)); fd.IsPacked() {
			t.Errorf("%s is packed", f)
		}
	}
	presence := []string{
		"ActualLRP.routable", "ActualLRPInfo.Routable", "StartActualLRPRequest.Routable",
		"EvacuateRunningActualLRPRequest.Routable", "ActualLRPsRequest.index",
		"DesiredLRPUpdate.instances", "DesiredLRPUpdate.annotation", "DesiredLRPUpdate.image_username",
		"DesiredLRPUpdate.image_password", "ResourceLimits.nofile", "ResourceLimits.nproc",
	}
	for _, f := range presence {
		msg, field, _ := strings.Cut(f, ".")
		if fd := descriptorOf(t, msg).Fields().ByName(protoreflect.Name(field)); !fd.HasPresence() || fd.Message() != nil {
			t.Errorf("%s is not an optional scalar", f)
		}
	}
	reserved := map[string][]protoreflect.FieldNumber{
		"VolumeMount":                     {2, 4, 5},
		"EvacuateRunningActualLRPRequest": {4},
	}
	for msg, nums := range reserved {
		for _, n := range nums {
			if !descriptorOf(t, msg).ReservedRanges().Has(n) {
				t.Errorf("%s: %d not reserved", msg, n)
			}
		}
	}
	errType := descriptorOf(t, "Error").Enums().ByName("Type")
	for _, n := range []protoreflect.EnumNumber{1, 2, 10, 20, 22, 23, 25} {
		if !errType.ReservedRanges().Has(n) {
			t.Errorf("Error.Type %d not reserved", n)
		}
	}
}

// TestEnumValues pins names and numbers; the JSON forms print the names.
func TestEnumValues(t *testing.T) {
	enums := map[string]string{
		"Error.Type": "0:UnknownError 3:InvalidRecord 4:InvalidRequest 5:InvalidResponse " +
			"6:InvalidProtobufMessage 7:InvalidJSON 8:FailedToOpenEnvelope 9:InvalidStateTransition " +
			"11:ResourceConflict 12:ResourceExists 13:ResourceNotFound 14:RouterError " +
			"15:ActualLRPCannotBeClaimed 16:ActualLRPCannotBeStarted 17:ActualLRPCannotBeCrashed " +
			"18:ActualLRPCannotBeFailed 19:ActualLRPCannotBeRemoved 21:ActualLRPCannotBeUnclaimed " +
			"24:RunningOnDifferentCell 26:GUIDGeneration 27:Deserialize 28:Deadlock 29:Unrecoverable " +
			"30:LockCollision 31:Timeout",
		"ActualLRP.Presence":                "0:ORDINARY 1:EVACUATING 2:SUSPECT",
		"ActualLRPNetInfo.PreferredAddress": "0:UNKNOWN 1:INSTANCE 2:HOST",
		"Task.State":                        "0:Invalid 1:Pending 2:Running 3:Completed 4:Resolving",
		"DesiredLRP.UpdateStrategy":         "0:ROLLING 1:RECREATE",
		"MetricTagValue.DynamicValue":       "0:DynamicValueInvalid 1:INDEX 2:INSTANCE_GUID",
		"ImageLayer.Type":                   "0:LayerTypeInvalid 1:SHARED 2:EXCLUSIVE",
		"ImageLayer.MediaType":              "0:MediaTypeInvalid 1:TGZ 2:TAR 3:ZIP",
		"ImageLayer.DigestAlgorithm":        "0:DigestAlgorithmInvalid 1:SHA256 2:SHA512",
	}
	for name, spec := range enums {
		msg, enum, _ := strings.Cut(name, ".")
		ed := descriptorOf(t, msg).Enums().ByName(protoreflect.Name(enum))
		if ed == nil {
			t.Errorf("no enum %s", name)
			continue
		}
		want := strings.Fields(spec)
		if ed.Values().Len() != len(want) {
			t.Errorf("%s has %d values, want %d", name, ed.Values().Len(), len(want))
		}
		for _, item := range want {
			num, value, _ := strings.Cut(item, ":")
			ev := ed.Values().ByName(protoreflect.Name(value))
			if ev == nil || strconv.Itoa(int(ev.Number())) != num {
				t.Errorf("%s.%s: got %v, want %s", name, value, ev, num)
			}
		}
	}
}

// TestEveryMessageHasJSONMethods keeps json_methods.go complete.
func TestEveryMessageHasJSONMethods(t *testing.T) {
	n := 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if !strings.HasPrefix(mt.Descriptor().ParentFile().Path(), "models/") {
			return true
		}
		n++
		m := mt.New().Interface()
		if _, ok := m.(interface{ MarshalJSON() ([]byte, error) }); !ok {
			t.Errorf("%s has no MarshalJSON", mt.Descriptor().FullName())
		}
		if _, ok := m.(interface{ UnmarshalJSON([]byte) error }); !ok {
			t.Errorf("%s has no UnmarshalJSON", mt.Descriptor().FullName())
		}
		return true
	})
	if n < 100 {
		t.Errorf("only %d BBS messages registered", n)
	}
}
