package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/locket/locketpb"
)

func newLocksCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "locks",
		Short: "Print the locket locks",
		Long:  "Print every lock held in locket (key, owner, value, type), one per line.",
	}
	c := locketFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		return printResources(cmd, env, c, locketpb.TypeCode_LOCK)
	}
	return cmd
}

// printResources prints the locket resources of one type.
func printResources(cmd *cobra.Command, env *Env, c *conn, code locketpb.TypeCode) error {
	lc, err := c.locket(cmd.Context())
	if err != nil {
		return err
	}
	defer lc.Close()
	resp, err := lc.FetchAll(cmd.Context(), &locketpb.FetchAllRequest{TypeCode: code})
	if err != nil {
		return componentErr(err)
	}
	return writeLines(env.Stdout, resp.GetResources())
}
