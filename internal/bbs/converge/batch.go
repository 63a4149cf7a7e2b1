package converge

// BatchWrites splits writes into batches of at most slots slots each,
// keeping the writes of one slot together and in order, for the store to
// apply each batch in one transaction.
func BatchWrites(writes []SlotWrite, slots int) [][]SlotWrite {
	slots = max(slots, 1)
	var out [][]SlotWrite
	start, n := 0, 0
	for i := range writes {
		newSlot := i == 0 || writes[i].Row.ProcessGUID != writes[i-1].Row.ProcessGUID || writes[i].Row.Index != writes[i-1].Row.Index
		if newSlot {
			if n == slots {
				out = append(out, writes[start:i])
				start, n = i, 0
			}
			n++
		}
	}
	if start < len(writes) {
		out = append(out, writes[start:])
	}
	return out
}

// BatchTaskWrites splits writes into batches of at most tasks tasks each,
// keeping the writes of one task together and in order.
func BatchTaskWrites(writes []TaskWrite, tasks int) [][]TaskWrite {
	tasks = max(tasks, 1)
	var out [][]TaskWrite
	start, n := 0, 0
	for i := range writes {
		if i == 0 || writes[i].Task.Guid != writes[i-1].Task.Guid {
			if n == tasks {
				out = append(out, writes[start:i])
				start, n = i, 0
			}
			n++
		}
	}
	if start < len(writes) {
		out = append(out, writes[start:])
	}
	return out
}
