package cfdot

import (
	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
)

func newTasksCommand(env *Env) *cobra.Command {
	var domain, cellID string
	cmd := &cobra.Command{
		Use:   "tasks",
		Short: "Print the tasks",
		Long:  "Print the tasks the BBS knows, one per line, optionally only those of a domain and/or a cell.",
	}
	c := bbsTimeoutFlags(env, cmd)
	f := cmd.Flags()
	f.StringVarP(&domain, "domain", "d", "", "only tasks of this domain")
	f.StringVarP(&cellID, "cell-id", "c", "", "only tasks running on this cell")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := conflictingFlags(env, [2]string{"-d", "--domain"}, [2]string{"-c", "--cell-id"}); err != nil {
			return err
		}
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		tasks, err := client.Tasks(ctx, bbsclient.TaskFilter{Domain: domain, CellID: cellID})
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, tasks)
	}
	return cmd
}
