package cfdot

import "github.com/spf13/cobra"

func newDesiredLRPCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "desired-lrp PROCESS_GUID",
		Short: "Print a desired LRP",
		Long:  "Print one desired LRP, found by its process guid.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		guid, err := processGuidArg(args)
		if err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		lrp, err := client.DesiredLRPByProcessGuid(ctx, guid)
		if err != nil {
			return commandErr(err)
		}
		return newJSONLines(env.Stdout).write(lrp)
	}
	return cmd
}
