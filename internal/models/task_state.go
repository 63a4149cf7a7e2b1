package models

// The task state machine (§4.1 of the reference notes):
//
//	Pending ──start──▶ Running ──complete──▶ Completed ──resolving──▶ Resolving ──delete──▶ (gone)
//	   │  ▲               │  │                  ▲
//	   │  └────reject─────┘  └──cancel/fail─────┤
//	   └──────────────cancel/fail───────────────┘
//
// Reject sends a Pending or Running task back to Pending (the converger
// auctions it again); once a task has been rejected max_task_retries
// times, the next rejection fails it instead.

// MaxTaskFailureLength is the stored length of failure and rejection
// reasons; longer ones are cut and end in "(truncated)".
const MaxTaskFailureLength = 1024

// TaskCancelledReason is the failure reason of a cancelled task.
const TaskCancelledReason = "task was cancelled"

// ValidateTransitionTo checks the generic rule: only Pending becomes
// Running, only Running becomes Completed, only Completed becomes
// Resolving. The error is the reference's InvalidStateTransition
// "Cannot transition from X to Y".
func (t *Task) ValidateTransitionTo(to Task_State) error {
	from := t.GetState()
	var ok bool
	switch to {
	case Task_Running:
		ok = from == Task_Pending
	case Task_Completed:
		ok = from == Task_Running
	case Task_Resolving:
		ok = from == Task_Completed
	}
	if !ok {
		return ErrInvalidStateTransition(from, to)
	}
	return nil
}

// ValidateStart checks StartTask from cellID. A task already running on
// that cell is no error: started is false then, and nothing changes.
func (t *Task) ValidateStart(cellID string) (start bool, err error) {
	if t.GetState() == Task_Running && t.GetCellId() == cellID {
		return false, nil
	}
	if err := t.ValidateTransitionTo(Task_Running); err != nil {
		return false, err
	}
	return true, nil
}

// ValidateCompletion checks CompleteTask from cellID: a task running on
// another cell is RunningOnDifferentCell; otherwise it must be Running.
func (t *Task) ValidateCompletion(cellID string) error {
	if t.GetState() == Task_Running && t.GetCellId() != cellID {
		return ErrRunningOnDifferentCell(cellID, t.GetCellId())
	}
	return t.ValidateTransitionTo(Task_Completed)
}

// ValidateFailure checks CancelTask and FailTask, which complete a Pending
// task as well as a Running one.
func (t *Task) ValidateFailure() error {
	if t.GetState() == Task_Pending {
		return nil
	}
	return t.ValidateTransitionTo(Task_Completed)
}

// ValidateRejection checks RejectTask given the task's rejection count
// before this rejection. Only Pending and Running tasks can be rejected
// (InvalidRequest otherwise). fail reports that the rejection exhausts
// maxRetries and must fail the task too; for a task in another state the
// reference then reports the failure's error instead of InvalidRequest.
func (t *Task) ValidateRejection(maxRetries int) (fail bool, err error) {
	fail = int64(t.GetRejectionCount()) >= int64(maxRetries)
	switch t.GetState() {
	case Task_Pending, Task_Running:
		return fail, nil
	}
	if fail {
		return false, t.ValidateFailure()
	}
	return false, ErrBadRequest
}

// ValidateDeletion checks DeleteTask: only a Resolving task may go. The
// error names the Resolving state as its target, as the reference's does.
func (t *Task) ValidateDeletion() error {
	if t.GetState() != Task_Resolving {
		return ErrInvalidStateTransition(t.GetState(), Task_Resolving)
	}
	return nil
}
