package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/locket/locketpb"
)

func newPresencesCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "presences",
		Short: "Print the locket presences",
		Long:  "Print every presence registered in locket (cells announce themselves with one), one per line.",
	}
	c := locketFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		return printResources(cmd, env, c, locketpb.TypeCode_PRESENCE)
	}
	return cmd
}
