package cfdot

import "github.com/spf13/cobra"

func newTaskCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task TASK_GUID",
		Short: "Print a task",
		Long:  "Print one task, found by its guid.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		guid, err := taskGuidArg(args)
		if err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		task, err := client.TaskByGuid(ctx, guid)
		if err != nil {
			return commandErr(err)
		}
		return newJSONLines(env.Stdout).write(task)
	}
	return cmd
}
