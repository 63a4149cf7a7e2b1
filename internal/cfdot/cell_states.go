package cfdot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newCellStatesCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cell-states",
		Short: "Print every cell's state as its rep reports it",
		Long: "Print the state of every cell from GET /state on its rep, one per line. Cells whose rep\n" +
			"does not answer are reported on stderr after the others, and cfdot then exits with 4.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		reps, err := c.repClient(repStateTimeout, repStateFetchers)
		if err != nil {
			return err
		}
		cells, err := client.Cells(ctx)
		if err != nil {
			return componentErr(fmt.Errorf("BBS error: Failed to get cell registrations from BBS: %s", err))
		}
		out := newJSONLines(env.Stdout)
		var failures strings.Builder
		states, errs := reps.states(ctx, cells)
		for i, cell := range cells {
			if errs[i] != nil {
				fmt.Fprintf(&failures, "Rep error: Failed to get cell state for cell %s: %s\n", cell.GetCellId(), errs[i])
				continue
			}
			if err := out.write(states[i]); err != nil {
				return err
			}
		}
		if failures.Len() > 0 {
			return componentErr(errors.New(failures.String()))
		}
		return nil
	}
	return cmd
}
