package cfdot

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/models"
)

func newRetireActualLRPCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retire-actual-lrp PROCESS_GUID INDEX",
		Short: "Stop one instance of a desired LRP",
		Long:  "Retire the actual LRP at INDEX of a process: its container is stopped and the slot emptied.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < 2:
			return validationf(msgMissingArguments)
		case len(args) > 2:
			return validationf(msgExtraArguments)
		case args[0] == "":
			return validationf(msgInvalidProcessGuid)
		}
		index, err := strconv.Atoi(args[1])
		if err != nil || index < 0 {
			return validationf(msgInvalidIndex)
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		// The key of the retire request needs the domain of the LRP.
		lrp, err := client.DesiredLRPByProcessGuid(ctx, args[0])
		if err != nil {
			return commandErr(err)
		}
		key := &models.ActualLRPKey{ProcessGuid: args[0], Index: int32(index), Domain: lrp.GetDomain()}
		if err := client.RetireActualLRP(ctx, key); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
