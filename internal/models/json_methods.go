package models

// encoding/json hooks for every message; the work is done by the
// descriptor-driven codec in json_encode.go and json_decode.go.
// TestEveryMessageHasJSONMethods keeps this list complete.

// actions.proto
func (x *Action) MarshalJSON() ([]byte, error)                { return marshalJSON(x) }
func (x *Action) UnmarshalJSON(data []byte) error             { return unmarshalJSON(data, x) }
func (x *DownloadAction) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *DownloadAction) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *UploadAction) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *UploadAction) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *RunAction) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *RunAction) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *TimeoutAction) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *TimeoutAction) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *EmitProgressAction) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *EmitProgressAction) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *TryAction) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *TryAction) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *ParallelAction) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *ParallelAction) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *SerialAction) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *SerialAction) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *CodependentAction) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *CodependentAction) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }
func (x *ResourceLimits) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *ResourceLimits) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }

// actual_lrp.proto
func (x *ActualLRPGroup) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *ActualLRPGroup) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *PortMapping) MarshalJSON() ([]byte, error)               { return marshalJSON(x) }
func (x *PortMapping) UnmarshalJSON(data []byte) error            { return unmarshalJSON(data, x) }
func (x *ActualLRPKey) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *ActualLRPKey) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }
func (x *ActualLRPInstanceKey) MarshalJSON() ([]byte, error)      { return marshalJSON(x) }
func (x *ActualLRPInstanceKey) UnmarshalJSON(data []byte) error   { return unmarshalJSON(data, x) }
func (x *ActualLRPNetInfo) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *ActualLRPNetInfo) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *ActualLRPInternalRoute) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *ActualLRPInternalRoute) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *ActualLRP) MarshalJSON() ([]byte, error)                 { return marshalJSON(x) }
func (x *ActualLRP) UnmarshalJSON(data []byte) error              { return unmarshalJSON(data, x) }

// actual_lrp_requests.proto
func (x *ActualLRPLifecycleResponse) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *ActualLRPLifecycleResponse) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *ActualLRPGroupsResponse) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *ActualLRPGroupsResponse) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *ActualLRPGroupResponse) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *ActualLRPGroupResponse) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }
func (x *ActualLRPGroupsRequest) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *ActualLRPGroupsRequest) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }
func (x *ActualLRPGroupsByProcessGuidRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPGroupsByProcessGuidRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *ActualLRPGroupByProcessGuidAndIndexRequest) MarshalJSON() ([]byte, error) {
	return marshalJSON(x)
}
func (x *ActualLRPGroupByProcessGuidAndIndexRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *ClaimActualLRPRequest) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *ClaimActualLRPRequest) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *StartActualLRPRequest) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *StartActualLRPRequest) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *CrashActualLRPRequest) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *CrashActualLRPRequest) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *FailActualLRPRequest) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *FailActualLRPRequest) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *RetireActualLRPRequest) MarshalJSON() ([]byte, error)           { return marshalJSON(x) }
func (x *RetireActualLRPRequest) UnmarshalJSON(data []byte) error        { return unmarshalJSON(data, x) }
func (x *RemoveActualLRPRequest) MarshalJSON() ([]byte, error)           { return marshalJSON(x) }
func (x *RemoveActualLRPRequest) UnmarshalJSON(data []byte) error        { return unmarshalJSON(data, x) }
func (x *ActualLRPsResponse) MarshalJSON() ([]byte, error)               { return marshalJSON(x) }
func (x *ActualLRPsResponse) UnmarshalJSON(data []byte) error            { return unmarshalJSON(data, x) }
func (x *ActualLRPsRequest) MarshalJSON() ([]byte, error)                { return marshalJSON(x) }
func (x *ActualLRPsRequest) UnmarshalJSON(data []byte) error             { return unmarshalJSON(data, x) }
func (x *ActualLRPsByProcessGuidsResponse) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPsByProcessGuidsResponse) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *ActualLRPsByProcessGuidsRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPsByProcessGuidsRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}

// cached_dependency.proto
func (x *CachedDependency) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *CachedDependency) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// cells.proto
func (x *CellCapacity) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *CellCapacity) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }
func (x *CellPresence) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *CellPresence) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }
func (x *Provider) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *Provider) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *CellsResponse) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *CellsResponse) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// certificate_properties.proto
func (x *CertificateProperties) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *CertificateProperties) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// check_definition.proto
func (x *CheckDefinition) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *CheckDefinition) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *Check) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *Check) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }
func (x *TCPCheck) MarshalJSON() ([]byte, error)           { return marshalJSON(x) }
func (x *TCPCheck) UnmarshalJSON(data []byte) error        { return unmarshalJSON(data, x) }
func (x *HTTPCheck) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *HTTPCheck) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }

// desired_lrp.proto
func (x *DesiredLRP) MarshalJSON() ([]byte, error)                  { return marshalJSON(x) }
func (x *DesiredLRP) UnmarshalJSON(data []byte) error               { return unmarshalJSON(data, x) }
func (x *DesiredLRPKey) MarshalJSON() ([]byte, error)               { return marshalJSON(x) }
func (x *DesiredLRPKey) UnmarshalJSON(data []byte) error            { return unmarshalJSON(data, x) }
func (x *DesiredLRPResource) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *DesiredLRPResource) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *DesiredLRPSchedulingInfo) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *DesiredLRPSchedulingInfo) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *DesiredLRPRunInfo) MarshalJSON() ([]byte, error)           { return marshalJSON(x) }
func (x *DesiredLRPRunInfo) UnmarshalJSON(data []byte) error        { return unmarshalJSON(data, x) }
func (x *ProtoRoutes) MarshalJSON() ([]byte, error)                 { return marshalJSON(x) }
func (x *ProtoRoutes) UnmarshalJSON(data []byte) error              { return unmarshalJSON(data, x) }
func (x *DesiredLRPUpdate) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *DesiredLRPUpdate) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }

// desired_lrp_requests.proto
func (x *DesiredLRPLifecycleResponse) MarshalJSON() ([]byte, error)       { return marshalJSON(x) }
func (x *DesiredLRPLifecycleResponse) UnmarshalJSON(data []byte) error    { return unmarshalJSON(data, x) }
func (x *DesiredLRPsResponse) MarshalJSON() ([]byte, error)               { return marshalJSON(x) }
func (x *DesiredLRPsResponse) UnmarshalJSON(data []byte) error            { return unmarshalJSON(data, x) }
func (x *DesiredLRPsRequest) MarshalJSON() ([]byte, error)                { return marshalJSON(x) }
func (x *DesiredLRPsRequest) UnmarshalJSON(data []byte) error             { return unmarshalJSON(data, x) }
func (x *DesiredLRPResponse) MarshalJSON() ([]byte, error)                { return marshalJSON(x) }
func (x *DesiredLRPResponse) UnmarshalJSON(data []byte) error             { return unmarshalJSON(data, x) }
func (x *DesiredLRPSchedulingInfosResponse) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *DesiredLRPSchedulingInfosResponse) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *DesiredLRPSchedulingInfoByProcessGuidResponse) MarshalJSON() ([]byte, error) {
	return marshalJSON(x)
}
func (x *DesiredLRPSchedulingInfoByProcessGuidResponse) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *DesiredLRPByProcessGuidRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *DesiredLRPByProcessGuidRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *DesireLRPRequest) MarshalJSON() ([]byte, error)           { return marshalJSON(x) }
func (x *DesireLRPRequest) UnmarshalJSON(data []byte) error        { return unmarshalJSON(data, x) }
func (x *UpdateDesiredLRPRequest) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *UpdateDesiredLRPRequest) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *RemoveDesiredLRPRequest) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *RemoveDesiredLRPRequest) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// domain.proto
func (x *DomainsResponse) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *DomainsResponse) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *UpsertDomainResponse) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *UpsertDomainResponse) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *UpsertDomainRequest) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *UpsertDomainRequest) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }

// environment_variables.proto
func (x *EnvironmentVariable) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *EnvironmentVariable) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// error.proto
func (x *Error) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *Error) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// evacuation.proto
func (x *EvacuationResponse) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *EvacuationResponse) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }
func (x *EvacuateClaimedActualLRPRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *EvacuateClaimedActualLRPRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *EvacuateRunningActualLRPRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *EvacuateRunningActualLRPRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *EvacuateStoppedActualLRPRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *EvacuateStoppedActualLRPRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *EvacuateCrashedActualLRPRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *EvacuateCrashedActualLRPRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *RemoveEvacuatingActualLRPRequest) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *RemoveEvacuatingActualLRPRequest) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *RemoveEvacuatingActualLRPResponse) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *RemoveEvacuatingActualLRPResponse) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}

// events.proto
func (x *ActualLRPCreatedEvent) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *ActualLRPCreatedEvent) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *ActualLRPChangedEvent) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *ActualLRPChangedEvent) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *ActualLRPRemovedEvent) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *ActualLRPRemovedEvent) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *ActualLRPInstanceCreatedEvent) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPInstanceCreatedEvent) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *ActualLRPInfo) MarshalJSON() ([]byte, error)                 { return marshalJSON(x) }
func (x *ActualLRPInfo) UnmarshalJSON(data []byte) error              { return unmarshalJSON(data, x) }
func (x *ActualLRPInstanceChangedEvent) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPInstanceChangedEvent) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *ActualLRPInstanceRemovedEvent) MarshalJSON() ([]byte, error) { return marshalJSON(x) }
func (x *ActualLRPInstanceRemovedEvent) UnmarshalJSON(data []byte) error {
	return unmarshalJSON(data, x)
}
func (x *DesiredLRPCreatedEvent) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *DesiredLRPCreatedEvent) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *DesiredLRPChangedEvent) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *DesiredLRPChangedEvent) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *DesiredLRPRemovedEvent) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *DesiredLRPRemovedEvent) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *ActualLRPCrashedEvent) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *ActualLRPCrashedEvent) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }
func (x *EventsByCellId) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *EventsByCellId) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *TaskCreatedEvent) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *TaskCreatedEvent) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *TaskChangedEvent) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *TaskChangedEvent) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *TaskRemovedEvent) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *TaskRemovedEvent) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }

// file.proto
func (x *File) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *File) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// image_layer.proto
func (x *ImageLayer) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *ImageLayer) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// log_rate_limit.proto
func (x *LogRateLimit) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *LogRateLimit) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// metric_tags.proto
func (x *MetricTagValue) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *MetricTagValue) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// modification_tag.proto
func (x *ModificationTag) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *ModificationTag) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// network.proto
func (x *Network) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *Network) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// ping.proto
func (x *PingResponse) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *PingResponse) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// security_group.proto
func (x *PortRange) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *PortRange) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *ICMPInfo) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *ICMPInfo) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *SecurityGroupRule) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *SecurityGroupRule) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// sidecar.proto
func (x *Sidecar) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *Sidecar) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }

// task.proto
func (x *TaskDefinition) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *TaskDefinition) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *Task) MarshalJSON() ([]byte, error)              { return marshalJSON(x) }
func (x *Task) UnmarshalJSON(data []byte) error           { return unmarshalJSON(data, x) }

// task_requests.proto
func (x *TaskLifecycleResponse) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *TaskLifecycleResponse) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *DesireTaskRequest) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *DesireTaskRequest) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *StartTaskRequest) MarshalJSON() ([]byte, error)         { return marshalJSON(x) }
func (x *StartTaskRequest) UnmarshalJSON(data []byte) error      { return unmarshalJSON(data, x) }
func (x *StartTaskResponse) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *StartTaskResponse) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *FailTaskRequest) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *FailTaskRequest) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *RejectTaskRequest) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *RejectTaskRequest) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *TaskGuidRequest) MarshalJSON() ([]byte, error)          { return marshalJSON(x) }
func (x *TaskGuidRequest) UnmarshalJSON(data []byte) error       { return unmarshalJSON(data, x) }
func (x *CompleteTaskRequest) MarshalJSON() ([]byte, error)      { return marshalJSON(x) }
func (x *CompleteTaskRequest) UnmarshalJSON(data []byte) error   { return unmarshalJSON(data, x) }
func (x *TaskCallbackResponse) MarshalJSON() ([]byte, error)     { return marshalJSON(x) }
func (x *TaskCallbackResponse) UnmarshalJSON(data []byte) error  { return unmarshalJSON(data, x) }
func (x *TasksRequest) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *TasksRequest) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }
func (x *TasksResponse) MarshalJSON() ([]byte, error)            { return marshalJSON(x) }
func (x *TasksResponse) UnmarshalJSON(data []byte) error         { return unmarshalJSON(data, x) }
func (x *TaskByGuidRequest) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *TaskByGuidRequest) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *TaskResponse) MarshalJSON() ([]byte, error)             { return marshalJSON(x) }
func (x *TaskResponse) UnmarshalJSON(data []byte) error          { return unmarshalJSON(data, x) }

// volume_mount.proto
func (x *SharedDevice) MarshalJSON() ([]byte, error)       { return marshalJSON(x) }
func (x *SharedDevice) UnmarshalJSON(data []byte) error    { return unmarshalJSON(data, x) }
func (x *DedicatedDevice) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *DedicatedDevice) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
func (x *VolumeMount) MarshalJSON() ([]byte, error)        { return marshalJSON(x) }
func (x *VolumeMount) UnmarshalJSON(data []byte) error     { return unmarshalJSON(data, x) }
func (x *VolumePlacement) MarshalJSON() ([]byte, error)    { return marshalJSON(x) }
func (x *VolumePlacement) UnmarshalJSON(data []byte) error { return unmarshalJSON(data, x) }
