package cfdot

import (
	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
)

func newActualLRPGroupsCommand(env *Env) *cobra.Command {
	var domain, cellID string
	cmd := &cobra.Command{
		Use:   "actual-lrp-groups",
		Short: "Print actual LRP groups (deprecated: use actual-lrps)",
		Long:  "Print the actual LRPs grouped by slot (instance and evacuating copy), one group per line. Deprecated: use actual-lrps.",
	}
	c := bbsTimeoutFlags(env, cmd)
	f := cmd.Flags()
	f.StringVarP(&domain, "domain", "d", "", "only groups of this domain")
	f.StringVarP(&cellID, "cell-id", "c", "", "only groups with an instance on this cell")
	deprecated(env, cmd, `"actual-lrps"`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		groups, err := client.ActualLRPGroups(ctx, bbsclient.ActualLRPFilter{Domain: domain, CellID: cellID})
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, groups)
	}
	return cmd
}
