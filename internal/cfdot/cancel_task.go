package cfdot

import "github.com/spf13/cobra"

func newCancelTaskCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cancel-task TASK_GUID",
		Short: "Cancel a task",
		Long:  "Cancel a pending or running task: it completes as failed and its container, if any, is stopped.",
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
		if err := client.CancelTask(ctx, guid); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
