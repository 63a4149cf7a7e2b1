// Command cfdot is the operators' command-line tool: it reads and changes
// the cluster's state through the BBS, locket and the reps, printing one
// JSON document per line (see internal/cfdot).
package main

import (
	"context"
	"os"

	"github.com/diego-go/diego/internal/cfdot"
)

func main() {
	os.Exit(cfdot.Run(context.Background(), cfdot.Env{
		Args:     os.Args[1:],
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Terminal: cfdot.StdoutTerminal,
	}))
}
