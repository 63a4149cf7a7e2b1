package cfdot

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/locket/locketpb"
)

func newClaimLockCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "claim-lock",
		Short: "Take or renew a locket lock",
		Long:  "Take the lock --key for --owner for --ttl seconds, or renew it if --owner already holds it.",
	}
	return claimCommand(env, cmd, locketpb.TypeCode_LOCK, "lock")
}

// claim is what claim-lock and claim-presence take from the command line.
type claim struct {
	key, owner, value string
	ttl               int
}

// claimCommand completes claim-lock and claim-presence, which differ only
// in the type of what they claim.
func claimCommand(env *Env, cmd *cobra.Command, code locketpb.TypeCode, what string) *cobra.Command {
	var cl claim
	c := locketFlags(env, cmd)
	f := cmd.Flags()
	f.StringVarP(&cl.key, "key", "k", "", "the "+what+"'s key")
	f.StringVarP(&cl.owner, "owner", "o", "", "who holds the "+what)
	f.StringVarP(&cl.value, "value", "v", "", "data stored with the "+what)
	f.IntVarP(&cl.ttl, "ttl", "t", 0, "seconds the "+what+" lasts unless renewed (more than 0)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cl.validate(env, args); err != nil {
			return err
		}
		lc, err := c.locket(cmd.Context())
		if err != nil {
			return err
		}
		defer lc.Close()
		_, err = lc.Lock(cmd.Context(), &locketpb.LockRequest{
			Resource:     &locketpb.Resource{Key: cl.key, Owner: cl.owner, Value: cl.value, TypeCode: code},
			TtlInSeconds: int64(cl.ttl),
		})
		if err != nil {
			return componentErr(err)
		}
		return nil
	}
	return cmd
}

func (cl *claim) validate(env *Env, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if err := conflictingFlags(env, [2]string{"-k", "--key"}, [2]string{"-o", "--owner"},
		[2]string{"-v", "--value"}, [2]string{"-t", "--ttl"}); err != nil {
		return err
	}
	if err := keyAndOwner(cl.key, cl.owner); err != nil {
		return err
	}
	if cl.ttl <= 0 {
		return validationErr(errors.New("ttl should be an integer greater than zero"))
	}
	return nil
}

func keyAndOwner(key, owner string) error {
	if key == "" {
		return validationErr(errors.New("key cannot be empty"))
	}
	if owner == "" {
		return validationErr(errors.New("owner cannot be empty"))
	}
	return nil
}
