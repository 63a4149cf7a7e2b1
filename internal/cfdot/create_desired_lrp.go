package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/models"
)

func newCreateDesiredLRPCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create-desired-lrp (SPEC|@FILE)",
		Short: "Create a desired LRP",
		Long: "Create a desired LRP. SPEC is the desired LRP in JSON, given inline\n" +
			"('{\"process_guid\":\"p1\",...}') or as @ followed by the name of a file holding it.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return validationf("missing spec argument")
		}
		var lrp *models.DesiredLRP
		if err := decodeSpec(args[0], &lrp); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		if err := client.DesireLRP(ctx, lrp); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
