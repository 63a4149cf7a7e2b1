package cfdot

import (
	"github.com/spf13/cobra"
)

func newHelpCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Describe cfdot or one of its commands",
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if len(args) == 0 || args[0] == "" {
				root.HelpFunc()(root, nil)
				return nil
			}
			for _, c := range root.Commands() {
				if c.Name() == args[0] {
					c.HelpFunc()(c, nil)
					return nil
				}
			}
			return validationf("'%s' is not a valid command", args[0])
		},
	}
}
