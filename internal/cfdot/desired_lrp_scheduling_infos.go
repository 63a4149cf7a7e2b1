package cfdot

import (
	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
)

func newDesiredLRPSchedulingInfosCommand(env *Env) *cobra.Command {
	var domain string
	cmd := &cobra.Command{
		Use:   "desired-lrp-scheduling-infos",
		Short: "Print the scheduling part of the desired LRPs",
		Long:  "Print what the scheduler needs of each desired LRP (key, resources, instances, placement), one per line.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.Flags().StringVarP(&domain, "domain", "d", "", "only desired LRPs of this domain")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := conflictingFlags(env, [2]string{"-d", "--domain"}); err != nil {
			return err
		}
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		infos, err := client.DesiredLRPSchedulingInfos(ctx, bbsclient.DesiredLRPFilter{Domain: domain})
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, infos)
	}
	return cmd
}
