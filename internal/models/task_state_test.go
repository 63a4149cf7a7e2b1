package models

import (
	"errors"
	"testing"
)

func checkTaskErr(t *testing.T, what string, got error, want *Error) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s: unexpected %v", what, got)
		}
		return
	}
	var e *Error
	if !errors.As(got, &e) || !e.Equal(want) {
		t.Errorf("%s: got %v, want %s %q", what, got, want.GetType(), want.GetMessage())
	}
}

func TestTaskTransitions(t *testing.T) {
	states := []Task_State{Task_Invalid, Task_Pending, Task_Running, Task_Completed, Task_Resolving}
	allowed := map[[2]Task_State]bool{
		{Task_Pending, Task_Running}:     true,
		{Task_Running, Task_Completed}:   true,
		{Task_Completed, Task_Resolving}: true,
	}
	for _, from := range states {
		for _, to := range states {
			err := (&Task{State: from}).ValidateTransitionTo(to)
			var want *Error
			if !allowed[[2]Task_State{from, to}] {
				want = NewError(Error_InvalidStateTransition, "Cannot transition from "+from.String()+" to "+to.String())
			}
			checkTaskErr(t, from.String()+"->"+to.String(), err, want)
		}
	}
}

func TestTaskOperationRules(t *testing.T) {
	transition := func(from, to string) *Error {
		return NewError(Error_InvalidStateTransition, "Cannot transition from "+from+" to "+to)
	}
	cases := []struct {
		name  string
		task  *Task
		check func(*Task) error
		want  *Error
	}{
		{"start pending", &Task{State: Task_Pending}, func(t *Task) error { _, err := t.ValidateStart("c1"); return err }, nil},
		{"start running elsewhere", &Task{State: Task_Running, CellId: "c2"}, func(t *Task) error { _, err := t.ValidateStart("c1"); return err }, transition("Running", "Running")},
		{"start completed", &Task{State: Task_Completed}, func(t *Task) error { _, err := t.ValidateStart("c1"); return err }, transition("Completed", "Running")},
		{"complete running here", &Task{State: Task_Running, CellId: "c1"}, func(t *Task) error { return t.ValidateCompletion("c1") }, nil},
		{"complete running elsewhere", &Task{State: Task_Running, CellId: "c2"}, func(t *Task) error { return t.ValidateCompletion("c1") },
			NewError(Error_RunningOnDifferentCell, "Running on cell c2 not c1")},
		{"complete pending", &Task{State: Task_Pending}, func(t *Task) error { return t.ValidateCompletion("c1") }, transition("Pending", "Completed")},
		{"fail pending", &Task{State: Task_Pending}, (*Task).ValidateFailure, nil},
		{"fail running", &Task{State: Task_Running}, (*Task).ValidateFailure, nil},
		{"fail completed", &Task{State: Task_Completed}, (*Task).ValidateFailure, transition("Completed", "Completed")},
		{"fail resolving", &Task{State: Task_Resolving}, (*Task).ValidateFailure, transition("Resolving", "Completed")},
		{"delete resolving", &Task{State: Task_Resolving}, (*Task).ValidateDeletion, nil},
		{"delete completed", &Task{State: Task_Completed}, (*Task).ValidateDeletion, transition("Completed", "Resolving")},
		{"delete running", &Task{State: Task_Running}, (*Task).ValidateDeletion, transition("Running", "Resolving")},
	}
	for _, c := range cases {
		checkTaskErr(t, c.name, c.check(c.task), c.want)
	}
	if start, err := (&Task{State: Task_Running, CellId: "c1"}).ValidateStart("c1"); start || err != nil {
		t.Errorf("start on the same cell: %v %v", start, err)
	}
	if start, err := (&Task{State: Task_Pending}).ValidateStart("c1"); !start || err != nil {
		t.Errorf("start pending: %v %v", start, err)
	}
}

func TestTaskRejectionRules(t *testing.T) {
	cases := []struct {
		state      Task_State
		count      int32
		maxRetries int
		fail       bool
		want       *Error
	}{
		{Task_Pending, 0, 3, false, nil},
		{Task_Running, 2, 3, false, nil},
		{Task_Running, 3, 3, true, nil},
		{Task_Pending, 0, 0, true, nil},
		{Task_Completed, 0, 3, false, ErrBadRequest},
		{Task_Resolving, 1, 3, false, ErrBadRequest},
		{Task_Completed, 3, 3, false, NewError(Error_InvalidStateTransition, "Cannot transition from Completed to Completed")},
		{Task_Resolving, 0, 0, false, NewError(Error_InvalidStateTransition, "Cannot transition from Resolving to Completed")},
	}
	for _, c := range cases {
		fail, err := (&Task{State: c.state, RejectionCount: c.count}).ValidateRejection(c.maxRetries)
		what := c.state.String()
		checkTaskErr(t, what, err, c.want)
		if fail != c.fail {
			t.Errorf("%s count %d max %d: fail %v", what, c.count, c.maxRetries, fail)
		}
	}
}
