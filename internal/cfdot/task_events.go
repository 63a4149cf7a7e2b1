package cfdot

import (
	"github.com/spf13/cobra"

	"github.com/diego-go/diego/internal/bbs/events"
)

func newTaskEventsCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task-events",
		Short: "Follow the task event stream",
		Long:  "Print the BBS's task events as they happen, one {\"type\",\"data\"} object per line, until the BBS ends the stream.",
	}
	c := bbsFlags(env, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		src, err := client.SubscribeToTaskEvents(ctx)
		if err != nil {
			return subscribeErr(err)
		}
		defer src.Close()
		items := make(chan streamItem)
		done := make(chan struct{})
		defer close(done)
		go readStream(src, 0, items, done)
		out := newJSONLines(env.Stdout)
		for item := range items {
			if item.err != nil {
				if isEOF(item.err) {
					return nil
				}
				return commandErr(item.err)
			}
			if err := out.write(eventLine{Type: item.event.EventType(), Data: events.Message(item.event)}); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}
