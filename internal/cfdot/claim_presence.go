package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/locket/locketpb"
)

func newClaimPresenceCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "claim-presence",
		Short: "Register or renew a locket presence",
		Long: "Register the presence --key for --owner for --ttl seconds, or renew it if --owner holds it.\n" +
			"A cell's presence has its cell id as key and its CellPresence JSON as value.",
	}
	return claimCommand(env, cmd, locketpb.TypeCode_PRESENCE, "presence")
}
