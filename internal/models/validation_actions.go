package models

import "strconv"

// Action validation. An Action is a pseudo-oneof: the first variant set, in
// field order, is the one that counts (the others are ignored, as in the
// reference).

// Validate accepts a nil action (an absent setup or monitor) and otherwise
// validates the variant it carries; an action with no variant is reported
// as "Invalid field: inner-action".
func (x *Action) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *Action) appendProblems(p *problemList) {
	if x == nil {
		return
	}
	switch {
	case x.DownloadAction != nil:
		x.DownloadAction.appendProblems(p)
	case x.UploadAction != nil:
		x.UploadAction.appendProblems(p)
	case x.RunAction != nil:
		x.RunAction.appendProblems(p)
	case x.TimeoutAction != nil:
		x.TimeoutAction.appendProblems(p)
	case x.EmitProgressAction != nil:
		x.EmitProgressAction.appendProblems(p)
	case x.TryAction != nil:
		x.TryAction.appendProblems(p)
	case x.ParallelAction != nil:
		appendActionListProblems(p, x.ParallelAction.GetActions())
	case x.SerialAction != nil:
		appendActionListProblems(p, x.SerialAction.GetActions())
	case x.CodependentAction != nil:
		appendActionListProblems(p, x.CodependentAction.GetActions())
	default:
		p.invalid("inner-action")
	}
}

// appendRequiredActionProblems checks the main action of an LRP, task or
// sidecar: required ("invalid action type" when absent), reported as
// "Invalid field: action" followed by its problems when invalid.
func appendRequiredActionProblems(p *problemList, a *Action) {
	if a == nil {
		p.add(msgInvalidActionType)
		return
	}
	p.section("action", a.appendProblems)
}

// appendInnerActionProblems checks the action wrapped by a timeout, try or
// emit-progress action.
func appendInnerActionProblems(p *problemList, a *Action) {
	if a == nil {
		p.invalid("action")
		return
	}
	a.appendProblems(p)
}

// appendActionListProblems checks the actions of a parallel, serial or
// codependent action: at least one, none nil.
func appendActionListProblems(p *problemList, actions []*Action) {
	if len(actions) == 0 {
		p.invalid("actions")
		return
	}
	for i, a := range actions {
		if a == nil {
			p.invalid("action at index " + strconv.Itoa(i))
			continue
		}
		a.appendProblems(p)
	}
}

// Validate requires from, to and user, and a consistent checksum
// (md5, sha1 or sha256, any case).
func (x *DownloadAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *DownloadAction) appendProblems(p *problemList) {
	if x.GetFrom() == "" {
		p.invalid("from")
	}
	if x.GetTo() == "" {
		p.invalid("to")
	}
	if x.GetUser() == "" {
		p.invalid("user")
	}
	appendChecksumProblems(p, x.GetChecksumAlgorithm(), x.GetChecksumValue())
}

// Validate requires to, from and user (reported in that order).
func (x *UploadAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *UploadAction) appendProblems(p *problemList) {
	if x.GetTo() == "" {
		p.invalid("to")
	}
	if x.GetFrom() == "" {
		p.invalid("from")
	}
	if x.GetUser() == "" {
		p.invalid("user")
	}
}

// Validate requires path and user.
func (x *RunAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *RunAction) appendProblems(p *problemList) {
	if x.GetPath() == "" {
		p.invalid("path")
	}
	if x.GetUser() == "" {
		p.invalid("user")
	}
}

// Validate requires a valid inner action and a positive timeout_ms.
func (x *TimeoutAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *TimeoutAction) appendProblems(p *problemList) {
	appendInnerActionProblems(p, x.GetAction())
	if x.GetTimeoutMs() <= 0 {
		p.invalid("timeout_ms")
	}
}

// Validate requires a valid inner action.
func (x *EmitProgressAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *EmitProgressAction) appendProblems(p *problemList) {
	appendInnerActionProblems(p, x.GetAction())
}

// Validate requires a valid inner action.
func (x *TryAction) Validate() error {
	var p problemList
	x.appendProblems(&p)
	return p.toError()
}

func (x *TryAction) appendProblems(p *problemList) {
	appendInnerActionProblems(p, x.GetAction())
}

// Validate requires at least one action and valid, non-nil actions.
func (x *ParallelAction) Validate() error {
	var p problemList
	appendActionListProblems(&p, x.GetActions())
	return p.toError()
}

// Validate requires at least one action and valid, non-nil actions.
func (x *SerialAction) Validate() error {
	var p problemList
	appendActionListProblems(&p, x.GetActions())
	return p.toError()
}

// Validate requires at least one action and valid, non-nil actions.
func (x *CodependentAction) Validate() error {
	var p problemList
	appendActionListProblems(&p, x.GetActions())
	return p.toError()
}
