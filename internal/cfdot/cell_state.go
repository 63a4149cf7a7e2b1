package cfdot

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCellStateCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cell-state CELL_ID",
		Short: "Print a cell's state as its rep reports it",
		Long: "Print the state of one cell (resources, containers, zone, ...) from GET /state on its rep,\n" +
			"called at the rep_url of its presence with the CA, certificate and key given, else at its rep_address.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := oneArg(args)
		if err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		cell, err := findCell(ctx, client, id)
		if err != nil {
			return commandErr(err)
		}
		reps, err := c.repClient(repStateTimeout, 1)
		if err != nil {
			return err
		}
		state, err := reps.state(ctx, cell)
		if err != nil {
			return componentErr(fmt.Errorf("Rep error: Failed to get cell state for cell %s: %s", id, err))
		}
		return newJSONLines(env.Stdout).write(state)
	}
	return cmd
}
