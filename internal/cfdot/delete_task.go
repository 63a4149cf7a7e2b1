package cfdot

import "github.com/spf13/cobra"

func newDeleteTaskCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete-task TASK_GUID",
		Short: "Delete a completed task",
		Long:  "Delete a completed task: mark it resolving, then remove it.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// The reference reports an empty guid with the process guid message.
		guid, err := processGuidArg(args)
		if err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		if err := client.ResolvingTask(ctx, guid); err != nil {
			return commandErr(err)
		}
		if err := client.DeleteTask(ctx, guid); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
