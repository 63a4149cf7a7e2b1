package cfdot

import "github.com/spf13/cobra"

func newCellsCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cells",
		Short: "Print the cells' presences",
		Long:  "Print the presence of every cell registered in locket, as the BBS reports them, one per line.",
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
		cells, err := client.Cells(ctx)
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, cells)
	}
	return cmd
}
