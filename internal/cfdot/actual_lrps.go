package cfdot

import (
	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
)

func newActualLRPsCommand(env *Env) *cobra.Command {
	var domain, cellID, processGuid string
	var index int32
	cmd := &cobra.Command{
		Use:   "actual-lrps",
		Short: "Print the actual LRPs (running instances)",
		Long:  "Print the actual LRPs the BBS knows, one per line, optionally only those matching every filter given.",
	}
	c := bbsTimeoutFlags(env, cmd)
	f := cmd.Flags()
	f.StringVarP(&domain, "domain", "d", "", "only actual LRPs of this domain")
	f.StringVarP(&cellID, "cell-id", "c", "", "only actual LRPs placed on this cell")
	f.StringVarP(&processGuid, "process-guid", "p", "", "only actual LRPs of this process")
	f.Int32VarP(&index, "index", "i", 0, "only actual LRPs with this instance index")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		filter := bbsclient.ActualLRPFilter{Domain: domain, CellID: cellID, ProcessGuid: processGuid}
		if cmd.Flags().Changed("index") {
			filter.Index = &index
		}
		lrps, err := client.ActualLRPs(ctx, filter)
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, lrps)
	}
	return cmd
}
