package cfdot

import "github.com/spf13/cobra"

func newDomainsCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domains",
		Short: "Print the fresh domains",
		Long:  "Print the domains that are fresh (whose desired state is complete), one JSON string per line.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		domains, err := client.Domains(ctx)
		if err != nil {
			return commandErr(err)
		}
		return writeLines(env.Stdout, domains)
	}
	return cmd
}
