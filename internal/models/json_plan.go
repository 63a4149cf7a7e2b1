package models

import (
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The JSON forms follow what Go's encoding/json printed for the reference's
// gogo structs. By default a field's key is its proto name and the field is
// left out when empty (zero, empty list or map, unset message); a proto3
// `optional` field is printed exactly when it is set. jsonFields lists, per
// message, the fields that differ, one item per field, separated by blanks:
//
//	name              key "name", printed even when empty
//	name=key          key "key", printed even when empty
//	name=key,omitempty key "key", left out when empty
//	name=^            flattened: the sub-message's keys appear in this object
//	name=Outer/inner  printed as "Outer": {"inner": v}, "Outer": null when
//	                  unset (encoding/json over a gogo oneof); inner may
//	                  carry ",omitempty"
//
// "Printed even when empty" means null for an empty list or an unset
// optional message, as encoding/json printed nil slices and pointers; an
// empty map prints {} (only CellPresence.annotations is such a map, and the
// reference forced {} there). Non-nullable sub-messages print as objects.
var jsonFields = map[protoreflect.Name]string{
	"Action": `download_action=download,omitempty upload_action=upload,omitempty
		run_action=run,omitempty timeout_action=timeout,omitempty
		emit_progress_action=emit_progress,omitempty try_action=try,omitempty
		parallel_action=parallel,omitempty serial_action=serial,omitempty
		codependent_action=codependent,omitempty`,
	"DownloadAction":     `from to cache_key user`,
	"UploadAction":       `from to user`,
	"RunAction":          `path user suppress_log_output volume_mounted_files`,
	"TimeoutAction":      `deprecated_timeout_ns=timeout,omitempty timeout_ms`,
	"EmitProgressAction": `start_message success_message failure_message_prefix`,

	"PortMapping":            `container_port host_port container_tls_proxy_port host_tls_proxy_port`,
	"ActualLRPKey":           `process_guid index domain`,
	"ActualLRPInstanceKey":   `instance_guid cell_id`,
	"ActualLRPNetInfo":       `address ports preferred_address`,
	"ActualLRPInternalRoute": `hostname`,
	"ActualLRP": `actual_lrp_key=^ actual_lrp_instance_key=^ actual_lrp_net_info=^
		crash_count state since modification_tag presence
		routable=OptionalRoutable/routable availability_zone`,
	"ActualLRPInfo": `actual_lrp_net_info=^ crash_count state since modification_tag presence
		Routable=OptionalRoutable/Routable,omitempty availability_zone`,

	"ActualLRPGroupsRequest":                     `domain cell_id`,
	"ActualLRPGroupsByProcessGuidRequest":        `process_guid`,
	"ActualLRPGroupByProcessGuidAndIndexRequest": `process_guid index`,
	"ClaimActualLRPRequest":                      `process_guid index`,
	"StartActualLRPRequest":                      `Routable=OptionalRoutable/Routable,omitempty availability_zone`,
	"CrashActualLRPRequest":                      `error_message`,
	"FailActualLRPRequest":                       `error_message`,
	"RemoveActualLRPRequest":                     `process_guid index`,
	"ActualLRPsRequest":                          `domain cell_id process_guid`,
	"ActualLRPsByProcessGuidsRequest":            `process_guids`,
	"EvacuationResponse":                         `keep_container`,
	"EvacuateRunningActualLRPRequest":            `Routable=OptionalRoutable/Routable,omitempty availability_zone`,
	"EvacuateCrashedActualLRPRequest":            `error_message`,

	"CachedDependency": `name from to cache_key log_source`,
	"CellCapacity":     `memory_mb disk_mb containers`,
	"CellPresence":     `cell_id rep_address zone rootfs_providers=rootfs_provider_list,omitempty rep_url annotations`,
	"Provider":         `name`,
	"CheckDefinition":  `log_source`,
	"TCPCheck":         `port`,
	"HTTPCheck":        `port path`,

	"DesiredLRP": `process_guid domain root_fs=rootfs instances environment_variables=env
		start_timeout_ms deprecated_start_timeout_s=deprecated_timeout_ns,omitempty
		disk_mb memory_mb cpu_weight privileged log_source log_guid metrics_guid annotation
		PlacementTags=placement_tags,omitempty max_pids volume_mounted_files update_strategy`,
	"DesiredLRPKey":      `process_guid domain log_guid`,
	"DesiredLRPResource": `memory_mb disk_mb root_fs=rootfs max_pids`,
	"DesiredLRPSchedulingInfo": `desired_lrp_key=^ annotation instances desired_lrp_resource=^
		routes modification_tag=^ PlacementTags=placement_tags,omitempty`,
	"DesiredLRPRunInfo": `desired_lrp_key=^ environment_variables=env
		deprecated_start_timeout_s=start_timeout,omitempty privileged cpu_weight egress_rules
		log_source metrics_guid created_at start_timeout_ms volume_mounted_files`,
	"DesiredLRPsRequest":             `domain`,
	"DesiredLRPByProcessGuidRequest": `process_guid`,
	"UpdateDesiredLRPRequest":        `process_guid`,
	"RemoveDesiredLRPRequest":        `process_guid`,
	"UpsertDomainRequest":            `domain ttl`,

	"EnvironmentVariable":           `name value`,
	"Error":                         `type message`,
	"ActualLRPInstanceCreatedEvent": `trace_id`,
	"ActualLRPInstanceChangedEvent": `actual_lrp_key=^ actual_lrp_instance_key=^ trace_id`,
	"ActualLRPInstanceRemovedEvent": `trace_id`,
	"DesiredLRPCreatedEvent":        `trace_id`,
	"DesiredLRPChangedEvent":        `trace_id`,
	"DesiredLRPRemovedEvent":        `trace_id`,
	"ActualLRPCrashedEvent":         `actual_lrp_key=^ actual_lrp_instance_key=^ crash_count since`,
	"EventsByCellId":                `cell_id`,
	"File":                          `path content`,
	"ImageLayer":                    `url destination_path layer_type media_type`,
	"ModificationTag":               `epoch index`,
	"PingResponse":                  `available`,
	"PortRange":                     `start end`,
	"ICMPInfo":                      `type code`,
	"SecurityGroupRule":             `log`,
	"Sidecar":                       `disk_mb memory_mb`,

	"TaskDefinition": `root_fs=rootfs environment_variables=env,omitempty disk_mb memory_mb
		cpu_weight privileged log_source log_guid metrics_guid result_file max_pids
		image_username image_password volume_mounted_files`,
	"Task": `task_definition=^ task_guid domain created_at updated_at first_completed_at state
		cell_id result failed failure_reason rejection_count rejection_reason`,
	"DesireTaskRequest":    `task_definition task_guid domain`,
	"StartTaskRequest":     `task_guid cell_id`,
	"StartTaskResponse":    `should_start`,
	"FailTaskRequest":      `task_guid failure_reason`,
	"RejectTaskRequest":    `task_guid rejection_reason`,
	"TaskGuidRequest":      `task_guid`,
	"CompleteTaskRequest":  `task_guid cell_id failed failure_reason result`,
	"TaskCallbackResponse": `task_guid failed failure_reason result created_at`,
	"TasksRequest":         `domain cell_id`,
	"TaskByGuidRequest":    `task_guid`,

	"SharedDevice":    `volume_id mount_config`,
	"DedicatedDevice": `mounter_id mount_config device_config`,
	"VolumeMount":     `driver container_dir mode shared dedicated`,
	"VolumePlacement": `driver_names`,
}

// enumStyle says how an enum is printed in JSON. Enums not listed print as
// numbers (the reference had no custom marshaller for them).
type enumStyle int

const (
	enumNumber enumStyle = iota
	enumName             // name string; an unknown name is an error
	enumLoose            // name string; unknown numbers print "", unknown names read as 0
)

var enumStyles = map[protoreflect.FullName]enumStyle{
	"models.Error.Type":                        enumName,
	"models.ActualLRP.Presence":                enumName,
	"models.ActualLRPNetInfo.PreferredAddress": enumName,
	"models.Task.State":                        enumName,
	"models.ImageLayer.Type":                   enumName,
	"models.ImageLayer.MediaType":              enumName,
	"models.ImageLayer.DigestAlgorithm":        enumName,
	"models.MetricTagValue.DynamicValue":       enumLoose,
	"models.DesiredLRP.UpdateStrategy":         enumNumber,
}

// routesMessage is printed as a JSON object of raw JSON values wherever a
// field has this type.
const routesMessage protoreflect.FullName = "models.ProtoRoutes"

// jsonPlan is the precomputed JSON layout of one message type.
type jsonPlan struct {
	fields []*jsonField          // in output order
	keys   map[string]jsonTarget // every key this object accepts, flattened ones too
	folded map[string]jsonTarget // the same, lower-cased, for case-insensitive input
}

// jsonField is one field of a plan.
type jsonField struct {
	fd          protoreflect.FieldDescriptor
	key         string
	always      bool      // printed even when empty
	flatten     bool      // the sub-message's keys appear in this object
	embed       *jsonPlan // plan of the flattened sub-message
	wrapper     bool      // printed as {key: {inner: v}}
	inner       string
	innerAlways bool
	routes      bool // ProtoRoutes as raw JSON
	nonNullable bool
}

// jsonTarget locates a key: the chain of flattened fields to go through,
// then the field itself.
type jsonTarget struct {
	via   []protoreflect.FieldDescriptor
	field *jsonField
}

var jsonPlans sync.Map // protoreflect.MessageDescriptor -> *jsonPlan

// jsonPlanFor returns the plan of md, building and caching it on first use.
func jsonPlanFor(md protoreflect.MessageDescriptor) (*jsonPlan, error) {
	if p, ok := jsonPlans.Load(md); ok {
		return p.(*jsonPlan), nil
	}
	p, err := buildJSONPlan(md)
	if err != nil {
		return nil, err
	}
	actual, _ := jsonPlans.LoadOrStore(md, p)
	return actual.(*jsonPlan), nil
}

// buildJSONPlan lays out md. Flattened sub-messages are laid out first,
// recursively; recursion through ordinary fields happens lazily at encode
// time, so recursive types need no special care.
func buildJSONPlan(md protoreflect.MessageDescriptor) (*jsonPlan, error) {
	specs, err := parseJSONFields(md)
	if err != nil {
		return nil, err
	}
	p := &jsonPlan{keys: map[string]jsonTarget{}, folded: map[string]jsonTarget{}}
	var flattened []*jsonField
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		f := &jsonField{fd: fd, key: string(fd.Name()), nonNullable: isNonNullable(fd)}
		f.routes = fd.Message() != nil && fd.Message().FullName() == routesMessage && !fd.IsList()
		if spec, ok := specs[fd.Name()]; ok {
			if err := f.apply(spec); err != nil {
				return nil, fmt.Errorf("models: json layout of %s: %w", md.FullName(), err)
			}
		}
		if f.flatten {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return nil, fmt.Errorf("models: json layout of %s: %s cannot be flattened", md.FullName(), fd.Name())
			}
			sub, err := jsonPlanFor(fd.Message())
			if err != nil {
				return nil, err
			}
			f.embed = sub
			flattened = append(flattened, f)
		} else {
			p.addKey(f.key, jsonTarget{field: f})
		}
		p.fields = append(p.fields, f)
	}
	// Keys of flattened messages come after the message's own keys so that,
	// as in encoding/json, a shallower key wins a clash.
	for _, f := range flattened {
		for k, t := range f.embed.keys {
			if _, taken := p.keys[k]; !taken {
				p.addKey(k, jsonTarget{via: append([]protoreflect.FieldDescriptor{f.fd}, t.via...), field: t.field})
			}
		}
	}
	return p, nil
}

func (p *jsonPlan) addKey(key string, t jsonTarget) {
	p.keys[key] = t
	if _, taken := p.folded[strings.ToLower(key)]; !taken {
		p.folded[strings.ToLower(key)] = t
	}
}

// apply reads one item of jsonFields ("" means a bare name).
func (f *jsonField) apply(spec string) error {
	if spec == "" {
		f.always = true
		return nil
	}
	if spec == "^" {
		f.flatten = true
		return nil
	}
	key, omit := strings.CutSuffix(spec, ",omitempty")
	if outer, inner, ok := strings.Cut(key, "/"); ok {
		if !f.fd.HasPresence() || f.fd.Message() != nil {
			return fmt.Errorf("%s: only optional scalars can be wrapped", f.fd.Name())
		}
		f.wrapper, f.key, f.always = true, outer, true
		f.inner, f.innerAlways = inner, !omit
		return nil
	}
	f.key, f.always = key, !omit
	return nil
}

// parseJSONFields splits the jsonFields entry of md into name -> spec and
// checks that every name is a field of md.
func parseJSONFields(md protoreflect.MessageDescriptor) (map[protoreflect.Name]string, error) {
	out := map[protoreflect.Name]string{}
	if string(md.FullName()) != "models."+string(md.Name()) {
		return out, nil // not a top-level message of package models
	}
	for _, item := range strings.Fields(jsonFields[md.Name()]) {
		name, spec, _ := strings.Cut(item, "=")
		if md.Fields().ByName(protoreflect.Name(name)) == nil {
			return nil, fmt.Errorf("models: json layout of %s names unknown field %q", md.FullName(), name)
		}
		out[protoreflect.Name(name)] = spec
	}
	return out, nil
}
