package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// lrpEvSubscribe opens the stream route called name with cellID as filter;
// the source is closed when the test ends.
func lrpEvSubscribe(t *testing.T, api *bbstest.API, name, cellID string) *bbsclient.EventSource {
	t.Helper()
	return lrpEvOpen(t, func(ctx context.Context) (*bbsclient.EventSource, error) {
		return api.Client.Subscribe(ctx, name, cellID)
	})
}

// lrpEvOpen opens a stream with subscribe; the source is closed when the
// test ends.
func lrpEvOpen(t *testing.T, subscribe func(context.Context) (*bbsclient.EventSource, error)) *bbsclient.EventSource {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	src, err := subscribe(ctx)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// lrpEvLRP is an actual LRP of process guid, on cell ("" for none).
func lrpEvLRP(guid, cell string) *models.ActualLRP {
	lrp := &models.ActualLRP{
		ActualLrpKey: &models.ActualLRPKey{ProcessGuid: guid, Domain: "cf-apps"},
		State:        models.ActualLRPStateUnclaimed,
	}
	if cell != "" {
		lrp.ActualLrpInstanceKey = &models.ActualLRPInstanceKey{InstanceGuid: "ig-" + guid, CellId: cell}
		lrp.State = models.ActualLRPStateRunning
	}
	return lrp
}

// lrpEvLabel names an event by its type and process guid.
func lrpEvLabel(ev events.Event) string {
	var guid string
	switch e := ev.(type) {
	case *models.DesiredLRPCreatedEvent:
		guid = e.GetDesiredLrp().GetProcessGuid()
	case *models.DesiredLRPChangedEvent:
		guid = e.GetAfter().GetProcessGuid()
	case *models.DesiredLRPRemovedEvent:
		guid = e.GetDesiredLrp().GetProcessGuid()
	case *models.ActualLRPInstanceCreatedEvent:
		guid = e.GetActualLrp().GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPInstanceChangedEvent:
		guid = e.GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPInstanceRemovedEvent:
		guid = e.GetActualLrp().GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPCrashedEvent:
		guid = e.GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPCreatedEvent:
		guid = e.GetActualLrpGroup().GetInstance().GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPChangedEvent:
		guid = e.GetAfter().GetInstance().GetActualLrpKey().GetProcessGuid()
	case *models.ActualLRPRemovedEvent:
		guid = e.GetActualLrpGroup().GetInstance().GetActualLrpKey().GetProcessGuid()
	}
	return ev.EventType() + ":" + guid
}

// lrpEvReadUntil reads events until it has seen every label of ends, and
// returns the labels of the others, sorted.
func lrpEvReadUntil(t *testing.T, src *bbsclient.EventSource, ends ...string) []string {
	t.Helper()
	ends = slices.Clone(ends)
	var out []string
	for len(ends) > 0 {
		ev, err := src.Next()
		if err != nil {
			t.Fatalf("next event: %v (read %v, waiting for %v)", err, out, ends)
		}
		l := lrpEvLabel(ev)
		if i := slices.Index(ends, l); i >= 0 {
			ends = slices.Delete(ends, i, i+1)
			continue
		}
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// lrpEvPoll waits until cond holds, failing the test after a while.
func lrpEvPoll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestLRPInstanceEventStreamCellFilter(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	all := lrpEvOpen(t, api.Client.SubscribeToInstanceEvents)
	cell1 := lrpEvOpen(t, func(ctx context.Context) (*bbsclient.EventSource, error) {
		return api.Client.SubscribeToInstanceEventsByCellID(ctx, "cell-1")
	})

	// Desired events are never filtered; the unclaimed instance the desire
	// creates is on no cell.
	if err := api.Client.DesireLRP(ctx, dlrp("desired", "cf-apps", 1)); err != nil {
		t.Fatal(err)
	}
	hub := api.Hubs.ActualInstance
	hub.Emit(models.NewActualLRPInstanceCreatedEvent(lrpEvLRP("created-1", "cell-1"), ""))
	hub.Emit(models.NewActualLRPInstanceCreatedEvent(lrpEvLRP("created-2", "cell-2"), ""))
	hub.Emit(models.NewActualLRPInstanceChangedEvent(lrpEvLRP("claimed-1", ""), lrpEvLRP("claimed-1", "cell-1"), ""))
	hub.Emit(models.NewActualLRPInstanceChangedEvent(lrpEvLRP("unclaimed-2", "cell-2"), lrpEvLRP("unclaimed-2", ""), ""))
	hub.Emit(models.NewActualLRPInstanceChangedEvent(lrpEvLRP("unclaimed-1", "cell-1"), lrpEvLRP("unclaimed-1", ""), ""))
	hub.Emit(models.NewActualLRPInstanceRemovedEvent(lrpEvLRP("removed-2", "cell-2"), ""))
	hub.Emit(models.NewActualLRPCrashedEvent(lrpEvLRP("crashed-1", "cell-1"), lrpEvLRP("crashed-1", "")))
	hub.Emit(models.NewActualLRPCrashedEvent(lrpEvLRP("crashed-2", "cell-2"), lrpEvLRP("crashed-2", "")))
	hub.Emit(models.NewActualLRPInstanceRemovedEvent(lrpEvLRP("end", "cell-1"), ""))
	api.Hubs.Desired.Emit(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: "end"}, ""))
	ends := []string{"actual_lrp_instance_removed:end", "desired_lrp_removed:end"}

	want := []string{
		"actual_lrp_crashed:crashed-1", "actual_lrp_instance_changed:claimed-1", "actual_lrp_instance_changed:unclaimed-1",
		"actual_lrp_instance_created:created-1", "desired_lrp_created:desired",
	}
	if got := lrpEvReadUntil(t, cell1, ends...); !slices.Equal(got, want) {
		t.Errorf("cell-1 stream:\n got  %v\n want %v", got, want)
	}
	want = append(want, "actual_lrp_crashed:crashed-2", "actual_lrp_instance_changed:unclaimed-2", "actual_lrp_instance_created:created-2",
		"actual_lrp_instance_created:desired", "actual_lrp_instance_removed:removed-2")
	slices.Sort(want)
	if got := lrpEvReadUntil(t, all, ends...); !slices.Equal(got, want) {
		t.Errorf("unfiltered stream:\n got  %v\n want %v", got, want)
	}
}

func TestLRPGroupEventStreamCellFilter(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	all := lrpEvOpen(t, api.Client.SubscribeToEvents)
	cell1 := lrpEvOpen(t, func(ctx context.Context) (*bbsclient.EventSource, error) {
		return api.Client.SubscribeToEventsByCellID(ctx, "cell-1")
	})
	group := func(guid, cell string) *models.ActualLRPGroup {
		return &models.ActualLRPGroup{Instance: lrpEvLRP(guid, cell)}
	}
	hub := api.Hubs.ActualGroup
	api.Hubs.Desired.Emit(models.NewDesiredLRPCreatedEvent(&models.DesiredLRP{ProcessGuid: "desired"}, ""))
	hub.Emit(models.NewActualLRPCreatedEvent(group("created-1", "cell-1")))
	hub.Emit(models.NewActualLRPCreatedEvent(group("created-2", "cell-2")))
	hub.Emit(models.NewActualLRPChangedEvent(group("moved-to-1", "cell-2"), group("moved-to-1", "cell-1")))
	hub.Emit(models.NewActualLRPChangedEvent(group("left-1", "cell-1"), group("left-1", "")))
	hub.Emit(models.NewActualLRPChangedEvent(group("on-2", "cell-2"), group("on-2", "cell-2")))
	hub.Emit(models.NewActualLRPRemovedEvent(group("removed-2", "cell-2")))
	hub.Emit(models.NewActualLRPCrashedEvent(lrpEvLRP("crashed-1", "cell-1"), lrpEvLRP("crashed-1", "")))
	hub.Emit(models.NewActualLRPRemovedEvent(group("end", "cell-1")))
	api.Hubs.Desired.Emit(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: "end"}, ""))
	ends := []string{"actual_lrp_removed:end", "desired_lrp_removed:end"}

	want := []string{"actual_lrp_changed:left-1", "actual_lrp_changed:moved-to-1", "actual_lrp_crashed:crashed-1",
		"actual_lrp_created:created-1", "desired_lrp_created:desired"}
	if got := lrpEvReadUntil(t, cell1, ends...); !slices.Equal(got, want) {
		t.Errorf("cell-1 stream:\n got  %v\n want %v", got, want)
	}
	want = append(want, "actual_lrp_changed:on-2", "actual_lrp_created:created-2", "actual_lrp_removed:removed-2")
	slices.Sort(want)
	if got := lrpEvReadUntil(t, all, ends...); !slices.Equal(got, want) {
		t.Errorf("unfiltered stream:\n got  %v\n want %v", got, want)
	}

	// A group that does not resolve ends the filtered stream, as in the
	// reference; the unfiltered one goes on.
	hub.Emit(models.NewActualLRPCreatedEvent(&models.ActualLRPGroup{}))
	hub.Emit(models.NewActualLRPRemovedEvent(group("end", "cell-1")))
	if ev, err := cell1.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("filtered stream after an unresolvable group: %v, %v; want EOF", ev, err)
	}
	if got := lrpEvReadUntil(t, all, "actual_lrp_removed:end"); len(got) != 1 {
		t.Errorf("unfiltered stream: %v, want the unresolvable group", got)
	}
}

// TestLRPEventStreamVersions: the current streams show desired LRPs as
// stored, the deprecated ones as V0.
func TestLRPEventStreamVersions(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	streams := map[string]*bbsclient.EventSource{}
	for _, name := range []string{routes.LRPInstanceEventStream, routes.LRPInstanceEventStreamR0, routes.LRPGroupEventStream, routes.LRPGroupEventStreamR0} {
		streams[name] = lrpEvSubscribe(t, api, name, "")
	}
	d := dlrpWithLayers("versioned")
	d.StartTimeoutMs = 90500
	d.Monitor = &models.Action{TimeoutAction: &models.TimeoutAction{
		Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/check", User: "vcap"}}, TimeoutMs: 2000,
	}}
	if err := api.Client.DesireLRP(ctx, d); err != nil {
		t.Fatal(err)
	}
	stored, err := api.DB.DesiredLRPByProcessGuid(ctx, "versioned")
	if err != nil {
		t.Fatal(err)
	}
	v0 := models.DesiredLRPToV0(stored)
	if v0.GetDeprecatedStartTimeoutS() != 90 || v0.GetMonitor().GetTimeoutAction().GetDeprecatedTimeoutNs() != 2000*int64(time.Millisecond) {
		t.Fatalf("V0 form %v lacks the deprecated timeouts", v0)
	}
	for name, want := range map[string]*models.DesiredLRP{
		routes.LRPInstanceEventStream: stored, routes.LRPInstanceEventStreamR0: v0,
		routes.LRPGroupEventStream: stored, routes.LRPGroupEventStreamR0: v0,
	} {
		for {
			ev, err := streams[name].Next()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if e, ok := ev.(*models.DesiredLRPCreatedEvent); ok {
				if !proto.Equal(e.GetDesiredLrp(), want) {
					t.Errorf("%s:\n got  %v\n want %v", name, e.GetDesiredLrp(), want)
				}
				break
			}
		}
	}

	// Changed and removed events are converted as well.
	one := int32(1)
	if err := api.Client.UpdateDesiredLRP(ctx, "versioned", &models.DesiredLRPUpdate{Instances: &one}); err != nil {
		t.Fatal(err)
	}
	if err := api.Client.RemoveDesiredLRP(ctx, "versioned"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{routes.LRPInstanceEventStreamR0, routes.LRPGroupEventStreamR0} {
		var changed, removed bool
		for !changed || !removed {
			ev, err := streams[name].Next()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch e := ev.(type) {
			case *models.DesiredLRPChangedEvent:
				changed = true
				if e.GetBefore().GetDeprecatedStartTimeoutS() != 90 || e.GetAfter().GetDeprecatedStartTimeoutS() != 90 || len(e.GetAfter().GetImageLayers()) != 0 {
					t.Errorf("%s: changed event not in V0: %v", name, e)
				}
			case *models.DesiredLRPRemovedEvent:
				removed = true
				if e.GetDesiredLrp().GetDeprecatedStartTimeoutS() != 90 || len(e.GetDesiredLrp().GetImageLayers()) != 0 {
					t.Errorf("%s: removed event not in V0: %v", name, e)
				}
			}
		}
	}
}

// TestLRPEventStreamOrder: the events of one hub arrive in the order they
// were emitted.
func TestLRPEventStreamOrder(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	src := lrpEvSubscribe(t, api, routes.LRPInstanceEventStream, "")
	const n = 300
	for i := range n {
		api.Hubs.ActualInstance.Emit(models.NewActualLRPInstanceCreatedEvent(lrpEvLRP(fmt.Sprintf("lrp-%03d", i), "cell-1"), ""))
	}
	for i := range n {
		ev, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := lrpEvLabel(ev), fmt.Sprintf("actual_lrp_instance_created:lrp-%03d", i); got != want {
			t.Fatalf("event %d: %s, want %s", i, got, want)
		}
	}
}

func TestLRPEventStreamEnds(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	instance := lrpEvSubscribe(t, api, routes.LRPInstanceEventStream, "")
	group := lrpEvSubscribe(t, api, routes.LRPGroupEventStreamR0, "cell-1")
	gone := lrpEvSubscribe(t, api, routes.LRPInstanceEventStreamR0, "")
	lrpEvPoll(t, "three subscribers", func() bool { return api.Hubs.Desired.SubscriberCount() == 3 })

	// A client that goes away leaves no subscription behind.
	gone.Close()
	lrpEvPoll(t, "the closed stream's subscriptions to end", func() bool {
		return api.Hubs.Desired.SubscriberCount() == 2 && api.Hubs.ActualInstance.SubscriberCount() == 1
	})

	// Closing the hubs ends every stream cleanly, after what was emitted.
	api.Hubs.Desired.Emit(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: "last"}, ""))
	api.Hubs.Close()
	for name, src := range map[string]*bbsclient.EventSource{"instance": instance, "group": group} {
		ev, err := src.Next()
		if err != nil || lrpEvLabel(ev) != "desired_lrp_removed:last" {
			t.Errorf("%s: %v, %v; want the last event", name, ev, err)
		}
		if ev, err := src.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%s after the hubs closed: %v, %v; want EOF", name, ev, err)
		}
	}

	// With the hubs closed, a subscription is refused with a bare 500.
	for _, name := range []string{routes.LRPInstanceEventStream, routes.LRPGroupEventStream} {
		status, _, body := dlrpPost(t, api, name, nil)
		if status != http.StatusInternalServerError || len(body) != 0 {
			t.Errorf("%s on closed hubs: %d %q, want 500 and no body", name, status, body)
		}
	}
}

func TestLRPEventStreamBadRequest(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	for _, name := range []string{routes.LRPInstanceEventStream, routes.LRPInstanceEventStreamR0, routes.LRPGroupEventStream, routes.LRPGroupEventStreamR0} {
		status, _, body := dlrpPost(t, api, name, []byte{0xff, 0xff, 0xff})
		if status != http.StatusInternalServerError || len(body) != 0 {
			t.Errorf("%s with a bad body: %d %q, want 500 and no body", name, status, body)
		}
	}
	if n := api.Hubs.Desired.SubscriberCount(); n != 0 {
		t.Errorf("%d subscribers left", n)
	}
}

// TestLRPEventStreamSlowSubscriber: a subscriber that does not read is cut
// off once its buffer is full; it still gets what was buffered, then the
// end of the stream.
func TestLRPEventStreamSlowSubscriber(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	src := lrpEvSubscribe(t, api, routes.LRPInstanceEventStream, "")
	hub := api.Hubs.Desired
	big := strings.Repeat("x", 16<<10)
	emitted := 0
	// The socket buffers take some events; then the server's writes block
	// and the hub's buffer fills.
	for hub.SlowConsumersDropped() == 0 {
		if emitted == 100_000 {
			t.Fatal("the subscriber was never cut off")
		}
		hub.Emit(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: fmt.Sprintf("lrp-%d", emitted), Annotation: big}, ""))
		emitted++
	}
	received := 0
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d events: %v", received, err)
		}
		if got, want := lrpEvLabel(ev), fmt.Sprintf("desired_lrp_removed:lrp-%d", received); got != want {
			t.Fatalf("event %d: %s, want %s", received, got, want)
		}
		received++
	}
	if received < events.SubscriberBuffer || received >= emitted {
		t.Errorf("received %d of %d events, want the buffered ones (at least %d) and not the rest", received, emitted, events.SubscriberBuffer)
	}
	if n := hub.SubscriberCount(); n != 0 {
		t.Errorf("%d subscribers left on the desired hub", n)
	}
}
