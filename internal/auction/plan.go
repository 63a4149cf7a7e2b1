package auction

// Work is what one cell is asked to start: the body of its POST /work.
type Work struct {
	Cell  string
	LRPs  []LRP
	Tasks []Task
}

// Work groups the placements by cell, in the round's cell order, each
// cell's items in the order they were placed. Cells without work are left
// out.
func (p *Plan) Work() []Work {
	idx := make(map[string]int, len(p.cellOrder))
	for i, id := range p.cellOrder {
		idx[id] = i
	}
	byCell := make([]*Work, len(p.cellOrder))
	get := func(cell string) *Work {
		i, ok := idx[cell]
		if !ok {
			return nil
		}
		if byCell[i] == nil {
			byCell[i] = &Work{Cell: cell}
		}
		return byCell[i]
	}
	for _, l := range p.PlacedLRPs {
		if w := get(l.Cell); w != nil {
			w.LRPs = append(w.LRPs, l.LRP)
		}
	}
	for _, t := range p.PlacedTasks {
		if w := get(t.Cell); w != nil {
			w.Tasks = append(w.Tasks, t.Task)
		}
	}
	var out []Work
	for _, w := range byCell {
		if w != nil {
			out = append(out, *w)
		}
	}
	return out
}

// Rejected moves the items a cell refused in its /work answer from the
// placements to the failures, with an empty error as the reference reports
// them (quirk Q5, kept). Items not placed on that cell are ignored.
func (p *Plan) Rejected(cell string, lrps []LRPKey, taskGuids []string) {
	lrpSet := make(map[LRPKey]bool, len(lrps))
	for _, k := range lrps {
		lrpSet[k] = true
	}
	taskSet := make(map[string]bool, len(taskGuids))
	for _, g := range taskGuids {
		taskSet[g] = true
	}
	p.unplace(cell, func(l *LRP) bool { return lrpSet[l.Key()] }, func(t *Task) bool { return taskSet[t.TaskGuid] }, "", CauseRejected)
}

// CommitFailed moves everything placed on a cell whose /work call failed
// to the failures, with MsgCommitFailed. The reference drops them without
// a word (quirk Q4, fixed): they stayed counted as started. The cell may
// have started some of them, so the daemon reports the LRPs to the BBS
// (failing an LRP a cell already claimed is refused, so nothing runs
// twice) but does not reject the tasks (a task the cell did start would be
// run again); a task the cell did not start is still pending and the BBS
// re-auctions it on its next convergence pass.
func (p *Plan) CommitFailed(cell string) {
	all := func(*LRP) bool { return true }
	p.unplace(cell, all, func(*Task) bool { return true }, MsgCommitFailed, CauseCommitFailed)
}

func (p *Plan) unplace(cell string, lrp func(*LRP) bool, task func(*Task) bool, msg string, cause Cause) {
	keptL := p.PlacedLRPs[:0]
	for _, l := range p.PlacedLRPs {
		if l.Cell == cell && lrp(&l.LRP) {
			p.FailedLRPs = append(p.FailedLRPs, FailedLRP{LRP: l.LRP, Error: msg, Cause: cause})
			continue
		}
		keptL = append(keptL, l)
	}
	p.PlacedLRPs = keptL
	keptT := p.PlacedTasks[:0]
	for _, t := range p.PlacedTasks {
		if t.Cell == cell && task(&t.Task) {
			p.FailedTasks = append(p.FailedTasks, FailedTask{Task: t.Task, Error: msg, Cause: cause})
			continue
		}
		keptT = append(keptT, t)
	}
	p.PlacedTasks = keptT
}
