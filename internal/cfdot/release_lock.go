package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/locket/locketpb"
)

func newReleaseLockCommand(env *Env) *cobra.Command {
	var key, owner string
	cmd := &cobra.Command{
		Use:   "release-lock",
		Short: "Give up a locket lock or presence",
		Long:  "Release the lock or presence --key held by --owner. Releasing a key nobody holds succeeds.",
	}
	c := locketFlags(env, cmd)
	cmd.Flags().StringVarP(&key, "key", "k", "", "the key to release")
	cmd.Flags().StringVarP(&owner, "owner", "o", "", "who holds it")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := conflictingFlags(env, [2]string{"-k", "--key"}, [2]string{"-o", "--owner"}); err != nil {
			return err
		}
		if err := keyAndOwner(key, owner); err != nil {
			return err
		}
		lc, err := c.locket(cmd.Context())
		if err != nil {
			return err
		}
		defer lc.Close()
		if _, err := lc.Release(cmd.Context(), &locketpb.ReleaseRequest{Resource: &locketpb.Resource{Key: key, Owner: owner}}); err != nil {
			return componentErr(err)
		}
		return nil
	}
	return cmd
}
