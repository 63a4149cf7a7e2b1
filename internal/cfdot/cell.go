package cfdot

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
)

func newCellCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cell CELL_ID",
		Short: "Print a cell's presence",
		Long:  "Print the presence of one cell, found by its id.",
	}
	c := bbsTimeoutFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := oneArg(args)
		if err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		cell, err := findCell(ctx, client, id)
		if err != nil {
			return commandErr(err)
		}
		return newJSONLines(env.Stdout).write(cell)
	}
	return cmd
}

// findCell looks a cell up in the list of cells (the BBS has no route for
// one cell).
func findCell(ctx context.Context, client *bbsclient.Client, id string) (*models.CellPresence, error) {
	cells, err := client.Cells(ctx)
	if err != nil {
		return nil, err
	}
	for _, cell := range cells {
		if cell.GetCellId() == id {
			return cell, nil
		}
	}
	return nil, errors.New(msgCellNotFound)
}
