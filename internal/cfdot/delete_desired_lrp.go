package cfdot

import "github.com/spf13/cobra"

func newDeleteDesiredLRPCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete-desired-lrp PROCESS_GUID",
		Short: "Delete a desired LRP",
		Long:  "Delete a desired LRP; its instances are then stopped.",
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
		if err := client.RemoveDesiredLRP(ctx, guid); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
