package cfdot

import (
	"github.com/spf13/cobra"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

func newLRPEventsCommand(env *Env) *cobra.Command {
	var cellID string
	var excludeGroups bool
	cmd := &cobra.Command{
		Use:   "lrp-events",
		Short: "Follow the LRP event streams",
		Long: "Print the BBS's desired and actual LRP events as they happen, one {\"type\",\"data\"} object per line,\n" +
			"until the BBS ends the streams. The actual LRP group events of the old stream are included\n" +
			"unless --exclude-actual-lrp-groups is given.",
	}
	c := bbsFlags(env, cmd)
	cmd.Flags().StringVarP(&cellID, "cell-id", "c", "", "only actual LRP events of this cell")
	cmd.Flags().BoolVarP(&excludeGroups, "exclude-actual-lrp-groups", "x", false, "leave out the deprecated actual LRP group events")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if !excludeGroups {
			printf(env.Stderr, "%s\n", `The event types "actual_lrp_created", "actual_lrp_changed" and "actual_lrp_removed" `+
				`come from a deprecated stream; --exclude-actual-lrp-groups leaves them out.`)
		}
		ctx, client, err := c.bbs(cmd.Context())
		if err != nil {
			return err
		}
		// sources[0] is the instance stream; sources[1], if any, the
		// deprecated group stream.
		var sources []*bbsclient.EventSource
		defer func() {
			for _, s := range sources {
				s.Close()
			}
		}()
		var groups *bbsclient.EventSource
		if !excludeGroups {
			if groups, err = client.SubscribeToEventsByCellID(ctx, cellID); err != nil {
				return subscribeErr(err)
			}
		}
		instances, err := client.SubscribeToInstanceEventsByCellID(ctx, cellID)
		if err != nil {
			if groups != nil {
				groups.Close()
			}
			return subscribeErr(err)
		}
		sources = append(sources, instances)
		if groups != nil {
			sources = append(sources, groups)
		}

		items := make(chan streamItem)
		done := make(chan struct{})
		defer close(done)
		for i, s := range sources {
			go readStream(s, i, items, done)
		}
		out := newJSONLines(env.Stdout)
		var ended []error
		for len(ended) < len(sources) {
			item := <-items
			if item.err != nil {
				ended = append(ended, item.err)
				continue
			}
			if item.source == 1 && !isGroupEvent(item.event) {
				continue
			}
			if err := out.write(eventLine{Type: item.event.EventType(), Data: events.Message(item.event)}); err != nil {
				return err
			}
		}
		return streamErrors(ended)
	}
	return cmd
}

// isGroupEvent tells the actual LRP group events of the deprecated stream
// from its desired LRP events, which the instance stream carries too.
func isGroupEvent(ev events.Event) bool {
	switch events.Message(ev).(type) {
	case *models.ActualLRPCreatedEvent, *models.ActualLRPChangedEvent, *models.ActualLRPRemovedEvent:
		return true
	}
	return false
}
