package cfdot

import (
	"time"

	"github.com/spf13/cobra"
)

func newSetDomainCommand(env *Env) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "set-domain DOMAIN",
		Short: "Mark a domain fresh",
		Long:  "Mark a domain fresh for --ttl (a Go duration such as 2m; whole seconds are sent), or for ever without it or with 0.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.Flags().DurationVarP(&ttl, "ttl", "t", 0, "how long the domain stays fresh (0: for ever)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		domain, err := oneArg(args)
		if err != nil {
			return err
		}
		if domain == "" {
			return validationf("No domain given")
		}
		if ttl < 0 {
			return validationf("ttl is negative")
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		if err := client.UpsertDomain(ctx, domain, ttl); err != nil {
			return commandErr(err)
		}
		return nil
	}
	return cmd
}
