package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/models"
)

func newUpdateDesiredLRPCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update-desired-lrp PROCESS_GUID (SPEC|@FILE)",
		Short: "Change a desired LRP",
		Long: "Change the instances, routes, annotation, metric tags or image credentials of a desired LRP.\n" +
			"SPEC is the change in JSON, inline ('{\"instances\":4}') or as @ followed by a file name.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return validationf(msgMissingArguments)
		}
		var update *models.DesiredLRPUpdate
		if err := decodeSpec(args[1], &update); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		if err := client.UpdateDesiredLRP(ctx, args[0], update); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
