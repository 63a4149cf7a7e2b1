package cfdot

// taskGuidArg returns the single, non-empty TASK_GUID argument of task and
// cancel-task.
func taskGuidArg(args []string) (string, error) {
	if len(args) == 0 || args[0] == "" {
		return "", validationf(msgMissingArguments)
	}
	if len(args) > 1 {
		return "", validationf(msgExtraArguments)
	}
	return args[0], nil
}
