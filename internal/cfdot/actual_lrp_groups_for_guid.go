package cfdot

import (
	"strconv"

	"github.com/spf13/cobra"
)

func newActualLRPGroupsForGuidCommand(env *Env) *cobra.Command {
	var indexFlag string
	cmd := &cobra.Command{
		Use:   "actual-lrp-groups-for-guid PROCESS_GUID",
		Short: "Print the actual LRP groups of a process (deprecated: use actual-lrps -p)",
		Long:  "Print the actual LRP groups of one process, or only the group of one index. Deprecated: use actual-lrps --process-guid.",
	}
	c := bbsTimeoutFlags(env, cmd)
	// A string, so that "not given" differs from 0.
	cmd.Flags().StringVarP(&indexFlag, "index", "i", "", "only the group of this instance index")
	deprecated(env, cmd, `"actual-lrps --process-guid"`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		guid, err := processGuidArg(args)
		if err != nil {
			return err
		}
		index := -1
		if indexFlag != "" {
			index, err = strconv.Atoi(indexFlag)
			if err != nil || index < 0 {
				return validationf(msgInvalidIndex)
			}
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		out := newJSONLines(env.Stdout)
		if index >= 0 {
			group, err := client.ActualLRPGroupByProcessGuidAndIndex(ctx, guid, int32(index))
			if err != nil {
				return commandErr(err)
			}
			return out.write(group)
		}
		groups, err := client.ActualLRPGroupsByProcessGuid(ctx, guid)
		if err != nil {
			return commandErr(err)
		}
		for _, g := range groups {
			if err := out.write(g); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}
