package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/models"
)

func newCreateTaskCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create-task (SPEC|@FILE)",
		Short: "Create a task",
		Long: "Create a task. SPEC is a task in JSON (task_guid, domain and the task definition's fields),\n" +
			"given inline ('{\"task_guid\":\"t1\",...}') or as @ followed by the name of a file holding it.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return validationf("missing spec argument")
		}
		var task *models.Task
		if err := decodeSpec(args[0], &task); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		if err := client.DesireTask(ctx, task.GetTaskGuid(), task.GetDomain(), task.GetTaskDefinition()); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
