// Package cfdot is the operators' command-line tool of the cluster, a
// drop-in for the reference's cfdot (reference notes: locket-routes-ssh-cfdot
// §5): the same commands, flags, environment variables, JSON lines and exit
// codes, plus `distribution`, a terminal view of how the cells are loaded.
//
//	cfdot <command> ──flags, then environment──▶ conn ──▶ BBS client (HTTPS, protobuf)
//	                                                  ├──▶ locket client (gRPC)
//	                                                  └──▶ reps (GET /state)
//	           stdout: one JSON document per line      stderr: errors, usage, warnings
//
// Exit codes: 0 ok, 3 bad input, 4 an error answered by the BBS or any
// locket or rep failure, 5 other failures, 255 what the command-line parser
// rejects without calling it bad input (unknown flags and commands).
//
// The command tree is built afresh for every run by NewCommand; nothing is
// kept between runs.
package cfdot

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Env is what a run of cfdot sees of the outside world.
type Env struct {
	// Args is the command line without the program name.
	Args   []string
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Terminal reports whether Stdout is a terminal and its width in
	// columns (0 when unknown); nil means never a terminal.
	Terminal func() (bool, int)
}

func (e *Env) getenv(key string) string {
	if e.Getenv == nil {
		return os.Getenv(key)
	}
	return e.Getenv(key)
}

// Run runs one cfdot command line and returns the process's exit code.
func Run(ctx context.Context, env Env) int {
	root := NewCommand(&env)
	root.SetArgs(env.Args)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && showsUsage(err) {
		fmt.Fprintln(env.Stderr, cmd.UsageString())
	}
	return exitCode(err)
}

// NewCommand builds the command tree of one run. Errors are printed by the
// tree ("Error: ..."); the usage after bad input is printed by Run.
func NewCommand(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:          "cfdot",
		Short:        "Inspect and operate a Diego cluster",
		Long:         "cfdot reads and changes the state of a Diego cluster through its BBS, locket and reps.\nOutput is one JSON document per line.",
		SilenceUsage: true,
	}
	root.SetHelpFunc(helpFunc(env))
	root.SetHelpCommand(newHelpCommand(env))
	for _, build := range []func(*Env) *cobra.Command{
		newActualLRPsCommand,
		newActualLRPGroupsCommand,
		newActualLRPGroupsForGuidCommand,
		newCancelTaskCommand,
		newCellCommand,
		newCellsCommand,
		newCellStateCommand,
		newCellStatesCommand,
		newClaimLockCommand,
		newClaimPresenceCommand,
		newCreateDesiredLRPCommand,
		newCreateTaskCommand,
		newDeleteDesiredLRPCommand,
		newDeleteTaskCommand,
		newDesiredLRPCommand,
		newDesiredLRPSchedulingInfosCommand,
		newDesiredLRPsCommand,
		newDistributionCommand,
		newDomainsCommand,
		newLocksCommand,
		newLRPEventsCommand,
		newPresencesCommand,
		newReleaseLockCommand,
		newRetireActualLRPCommand,
		newSetDomainCommand,
		newTaskCommand,
		newTaskEventsCommand,
		newTasksCommand,
		newUpdateDesiredLRPCommand,
	} {
		root.AddCommand(build(env))
	}
	return root
}

// helpFunc prints a command's description and usage on stdout.
func helpFunc(env *Env) func(*cobra.Command, []string) {
	return func(c *cobra.Command, _ []string) {
		c.InitDefaultHelpFlag()
		text := c.Long
		if text == "" {
			text = c.Short
		}
		fmt.Fprintf(env.Stdout, "%s\n\n%s", strings.TrimRight(text, " \n"), c.UsageString())
	}
}

// deprecated marks a command replaced by another: hidden from the command
// list, and a notice on stderr when it runs.
func deprecated(env *Env, cmd *cobra.Command, replacement string) {
	cmd.Hidden = true
	validate := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		fmt.Fprintf(env.Stderr, "cfdot: %s is deprecated and will go away; use %s\n", c.Name(), replacement)
		return validate(c, args)
	}
}
