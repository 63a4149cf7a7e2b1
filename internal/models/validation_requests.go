package models

// Validation of the request messages (§1.9) and of the actual LRP keys they
// carry. Requests that have nothing to check return nil.

// Validate requires process_guid, a non-negative index and domain.
func (x *ActualLRPKey) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *ActualLRPKey) appendProblems(p *problemList) {
	if x.GetProcessGuid() == "" {
		p.invalid("process_guid")
	}
	if x.GetIndex() < 0 {
		p.invalid("index")
	}
	if x.GetDomain() == "" {
		p.invalid("domain")
	}
}

// Validate requires cell_id and instance_guid (reported in that order).
func (x *ActualLRPInstanceKey) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *ActualLRPInstanceKey) appendProblems(p *problemList) {
	if x.GetCellId() == "" {
		p.invalid("cell_id")
	}
	if x.GetInstanceGuid() == "" {
		p.invalid("instance_guid")
	}
}

// Validate requires the cell's address.
func (x *ActualLRPNetInfo) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *ActualLRPNetInfo) appendProblems(p *problemList) {
	if x.GetAddress() == "" {
		p.invalid("address")
	}
}

// The three parts of the lifecycle and evacuation requests: absent is
// "Invalid field: <name>", present is checked.

func appendLRPKeyProblems(p *problemList, k *ActualLRPKey) {
	if k == nil {
		p.invalid("actual_lrp_key")
		return
	}
	k.appendProblems(p)
}

func appendInstanceKeyProblems(p *problemList, k *ActualLRPInstanceKey) {
	if k == nil {
		p.invalid("actual_lrp_instance_key")
		return
	}
	k.appendProblems(p)
}

func appendNetInfoProblems(p *problemList, n *ActualLRPNetInfo) {
	if n == nil {
		p.invalid("actual_lrp_net_info")
		return
	}
	n.appendProblems(p)
}

// requireField records "Invalid field: <name>" when value is empty.
func requireField(p *problemList, value, name string) {
	if value == "" {
		p.invalid(name)
	}
}

// requireIndex records "Invalid field: index" for a negative index.
func requireIndex(p *problemList, index int32) {
	if index < 0 {
		p.invalid("index")
	}
}

// requireTaskGUID records "Invalid field: task_guid" unless guid matches
// the guid pattern.
func requireTaskGUID(p *problemList, guid string) {
	if !validGUID(guid) {
		p.invalid("task_guid")
	}
}

// Validate always succeeds.
func (x *ActualLRPsRequest) Validate() error { return nil }

// Validate requires at least one process guid.
func (x *ActualLRPsByProcessGuidsRequest) Validate() error {
	if len(x.GetProcessGuids()) == 0 {
		return NewError(Error_InvalidRequest, "process_guids must not be empty")
	}
	return nil
}

// Validate always succeeds.
func (x *ActualLRPGroupsRequest) Validate() error { return nil }

// Validate requires process_guid.
func (x *ActualLRPGroupsByProcessGuidRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	return p.toError()
}

// Validate requires process_guid and a non-negative index.
func (x *ActualLRPGroupByProcessGuidAndIndexRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	requireIndex(&p, x.GetIndex())
	return p.toError()
}

// Validate requires process_guid and a complete instance key (the index is
// not checked).
func (x *ClaimActualLRPRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	return p.toError()
}

// Validate requires key, instance key and net info.
func (x *StartActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	appendNetInfoProblems(&p, x.GetActualLrpNetInfo())
	return p.toError()
}

// Validate requires key and instance key (the error message is optional).
func (x *CrashActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	return p.toError()
}

// Validate requires key and error_message.
func (x *FailActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	requireField(&p, x.GetErrorMessage(), "error_message")
	return p.toError()
}

// Validate requires key.
func (x *RetireActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	return p.toError()
}

// Validate requires process_guid and a non-negative index; the instance key
// is optional and not checked.
func (x *RemoveActualLRPRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	requireIndex(&p, x.GetIndex())
	return p.toError()
}

// Validate requires key and instance key.
func (x *RemoveEvacuatingActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	return p.toError()
}

// Validate requires key and instance key.
func (x *EvacuateClaimedActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	return p.toError()
}

// Validate requires key, instance key and net info.
func (x *EvacuateRunningActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	appendNetInfoProblems(&p, x.GetActualLrpNetInfo())
	return p.toError()
}

// Validate requires key and instance key.
func (x *EvacuateStoppedActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	return p.toError()
}

// Validate requires key, instance key and error_message.
func (x *EvacuateCrashedActualLRPRequest) Validate() error {
	var p problemList
	appendLRPKeyProblems(&p, x.GetActualLrpKey())
	appendInstanceKeyProblems(&p, x.GetActualLrpInstanceKey())
	requireField(&p, x.GetErrorMessage(), "error_message")
	return p.toError()
}

// Validate always succeeds.
func (x *DesiredLRPsRequest) Validate() error { return nil }

// Validate requires process_guid.
func (x *DesiredLRPByProcessGuidRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	return p.toError()
}

// Validate requires a valid desired LRP.
func (x *DesireLRPRequest) Validate() error {
	var p problemList
	if x.GetDesiredLrp() == nil {
		p.invalid("desired_lrp")
	} else {
		x.GetDesiredLrp().appendProblems(&p)
	}
	return p.toError()
}

// Validate requires process_guid and a valid update. The reference accepts
// a request without an update and then fails while applying it; we reject
// it here as "Invalid field: update".
func (x *UpdateDesiredLRPRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	if x.GetUpdate() == nil {
		p.invalid("update")
	} else {
		x.GetUpdate().appendProblems(&p)
	}
	return p.toError()
}

// Validate requires process_guid.
func (x *RemoveDesiredLRPRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetProcessGuid(), "process_guid")
	return p.toError()
}

// Validate requires a task guid matching the pattern, a domain and a valid
// task definition.
func (x *DesireTaskRequest) Validate() error {
	var p problemList
	requireTaskGUID(&p, x.GetTaskGuid())
	requireField(&p, x.GetDomain(), "domain")
	if x.GetTaskDefinition() == nil {
		p.invalid("task_definition")
	} else {
		x.GetTaskDefinition().appendProblems(&p)
	}
	return p.toError()
}

// Validate requires a task guid matching the pattern and cell_id.
func (x *StartTaskRequest) Validate() error {
	var p problemList
	requireTaskGUID(&p, x.GetTaskGuid())
	requireField(&p, x.GetCellId(), "cell_id")
	return p.toError()
}

// Validate requires a task guid matching the pattern and cell_id.
func (x *CompleteTaskRequest) Validate() error {
	var p problemList
	requireTaskGUID(&p, x.GetTaskGuid())
	requireField(&p, x.GetCellId(), "cell_id")
	return p.toError()
}

// Validate requires a task guid matching the pattern and failure_reason.
func (x *FailTaskRequest) Validate() error {
	var p problemList
	requireTaskGUID(&p, x.GetTaskGuid())
	requireField(&p, x.GetFailureReason(), "failure_reason")
	return p.toError()
}

// Validate requires a task guid matching the pattern and a rejection
// reason, which the reference reports as "failure_reason".
func (x *RejectTaskRequest) Validate() error {
	var p problemList
	requireTaskGUID(&p, x.GetTaskGuid())
	requireField(&p, x.GetRejectionReason(), "failure_reason")
	return p.toError()
}

// Validate always succeeds.
func (x *TasksRequest) Validate() error { return nil }

// Validate requires task_guid (any non-empty text).
func (x *TaskByGuidRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetTaskGuid(), "task_guid")
	return p.toError()
}

// Validate requires task_guid (any non-empty text).
func (x *TaskGuidRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetTaskGuid(), "task_guid")
	return p.toError()
}

// Validate requires domain.
func (x *UpsertDomainRequest) Validate() error {
	var p problemList
	requireField(&p, x.GetDomain(), "domain")
	return p.toError()
}

// Validate always succeeds: an empty cell id means every cell.
func (x *EventsByCellId) Validate() error { return nil }
