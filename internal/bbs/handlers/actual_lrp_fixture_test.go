package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/tlsconfig"
	"google.golang.org/protobuf/proto"
)

// The fixture of the actual LRP and evacuation tests: an API on its own
// database, a settable clock, and subscriptions to the instance and group
// hubs. Events are emitted before the API answers, so once a call returned
// its events are all buffered: expectEvents reads them and then checks that
// nothing more is pending.

const (
	lrpDomain = "cf-apps"
	lrpTrace  = "trace-lrp-1"
	// eventWait bounds the wait for an event that must come.
	eventWait = 5 * time.Second
)

type lrpFx struct {
	t     *testing.T
	api   *bbstest.API
	c     *bbsclient.Client
	ctx   context.Context
	clock *lrpClock
	inst  *events.Subscription
	group *events.Subscription
}

// lrpClock is the store's clock, moved by the test.
type lrpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lrpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lrpClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newLRPFx starts an API on cfg (the zero value is SQLite), with cells
// cell-1 and cell-2 present.
func newLRPFx(t *testing.T, cfg sqldb.Config) *lrpFx {
	t.Helper()
	clock := &lrpClock{now: time.Unix(1_700_000_000, 0)}
	api := bbstest.Start(t, bbstest.Options{DB: cfg, Now: clock.Now})
	api.Cells.Set(bbstest.Cell("cell-1", "z1"))
	api.Cells.Set(bbstest.Cell("cell-2", "z2"))
	f := &lrpFx{t: t, api: api, c: api.Client, clock: clock, ctx: bbsclient.WithRequestID(context.Background(), lrpTrace)}
	var err error
	if f.inst, err = api.Hubs.ActualInstance.Subscribe(); err != nil {
		t.Fatal(err)
	}
	if f.group, err = api.Hubs.ActualGroup.Subscribe(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.inst.Close()
		f.group.Close()
	})
	return f
}

func lrpKey(guid string, index int32) *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: lrpDomain}
}

func instKey(guid, cell string) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: guid, CellId: cell}
}

func netInfo(addr string, port uint32) *models.ActualLRPNetInfo {
	return &models.ActualLRPNetInfo{Address: addr, InstanceAddress: "10.255.0.1",
		Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: port}}}
}

// desire stores a desired LRP directly (no events, no instances).
func (f *lrpFx) desire(guid string, instances int32, strategy models.DesiredLRP_UpdateStrategy) {
	f.t.Helper()
	d := &models.DesiredLRP{
		ProcessGuid: guid, Domain: lrpDomain, LogGuid: guid, RootFs: "preloaded:cflinuxfs4",
		Instances: instances, MemoryMb: 256, DiskMb: 1024, MaxPids: 100,
		PlacementTags: []string{"isolated"},
		Action:        &models.Action{RunAction: &models.RunAction{Path: "/bin/app", User: "vcap"}},
		MetricTags:    map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		VolumeMounts: []*models.VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw",
			Shared: &models.SharedDevice{VolumeId: "v1"}}},
		UpdateStrategy: strategy,
	}
	if _, err := f.api.DB.DesireLRP(context.Background(), d); err != nil {
		f.t.Fatal(err)
	}
}

// unclaimed creates the UNCLAIMED ORDINARY row of (guid, index) directly.
func (f *lrpFx) unclaimed(guid string, index int32) *models.ActualLRPKey {
	f.t.Helper()
	key := lrpKey(guid, index)
	if _, err := f.api.DB.CreateUnclaimedActualLRP(context.Background(), key); err != nil {
		f.t.Fatal(err)
	}
	return key
}

// claimed is unclaimed then claimed by ik through the API.
func (f *lrpFx) claimed(guid string, index int32, ik *models.ActualLRPInstanceKey) *models.ActualLRPKey {
	f.t.Helper()
	key := f.unclaimed(guid, index)
	if err := f.c.ClaimActualLRP(f.ctx, key, ik); err != nil {
		f.t.Fatal(err)
	}
	return key
}

// running is unclaimed then claimed and started by ik through the API;
// events drained.
func (f *lrpFx) running(guid string, index int32, ik *models.ActualLRPInstanceKey) *models.ActualLRPKey {
	f.t.Helper()
	key := f.unclaimed(guid, index)
	f.run(key, ik)
	return key
}

// run claims and starts the existing instance at key for ik; events
// drained.
func (f *lrpFx) run(key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) {
	f.t.Helper()
	if err := f.c.ClaimActualLRP(f.ctx, key, ik); err != nil {
		f.t.Fatal(err)
	}
	f.start(key, ik, netInfo("10.0.0.1", 61001))
	f.drain()
}

func (f *lrpFx) start(key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey, ni *models.ActualLRPNetInfo) {
	f.t.Helper()
	if err := f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: ni}); err != nil {
		f.t.Fatal(err)
	}
}

// suspect turns the running ORDINARY row of key into a SUSPECT one and
// creates its UNCLAIMED replacement, as convergence does (no events).
func (f *lrpFx) suspect(key *models.ActualLRPKey) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.api.DB.ChangeActualLRPPresence(ctx, key, models.ActualLRP_ORDINARY, models.ActualLRP_SUSPECT); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.api.DB.CreateUnclaimedActualLRP(ctx, key); err != nil {
		f.t.Fatal(err)
	}
}

// evacuateRunning calls evacuate_running.r1 for ik with ni.
func (f *lrpFx) evacuateRunning(key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey, ni *models.ActualLRPNetInfo) (bool, error) {
	return f.c.EvacuateRunningActualLRP(f.ctx, &models.EvacuateRunningActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: ni})
}

// slot returns the rows of (guid, index) by presence, read through the API.
func (f *lrpFx) slot(guid string, index int32) []*models.ActualLRP {
	f.t.Helper()
	lrps, err := f.c.ActualLRPs(f.ctx, bbsclient.ActualLRPFilter{ProcessGuid: guid, Index: &index})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.SortFunc(lrps, func(a, b *models.ActualLRP) int { return int(a.GetPresence()) - int(b.GetPresence()) })
	return lrps
}

// row returns the row of presence p of (guid, index), or nil.
func (f *lrpFx) row(guid string, index int32, p models.ActualLRP_Presence) *models.ActualLRP {
	f.t.Helper()
	for _, lrp := range f.slot(guid, index) {
		if lrp.GetPresence() == p {
			return lrp
		}
	}
	return nil
}

// shape is a row's presence and state, e.g. "ORDINARY/RUNNING".
func shape(lrps []*models.ActualLRP) []string {
	out := []string{}
	for _, l := range lrps {
		out = append(out, l.GetPresence().String()+"/"+l.GetState())
	}
	return out
}

func (f *lrpFx) wantSlot(guid string, index int32, want ...string) []*models.ActualLRP {
	f.t.Helper()
	lrps := f.slot(guid, index)
	if got := shape(lrps); !slices.Equal(got, want) {
		f.t.Fatalf("slot %s/%d = %v, want %v", guid, index, got, want)
	}
	return lrps
}

// drain discards the events emitted so far.
func (f *lrpFx) drain() {
	for _, s := range []*events.Subscription{f.inst, f.group} {
		for len(s.C()) > 0 {
			<-s.C()
		}
	}
}

// expectEvents reads exactly the instance and group events named, in
// order, and fails if more are pending. It returns their messages.
func (f *lrpFx) expectEvents(instance, group []string) (inst, grp []proto.Message) {
	f.t.Helper()
	inst = f.read(f.inst, "instance", instance)
	grp = f.read(f.group, "group", group)
	return inst, grp
}

// expectNoEvents fails if any event is pending.
func (f *lrpFx) expectNoEvents() {
	f.t.Helper()
	f.expectEvents(nil, nil)
}

func (f *lrpFx) read(s *events.Subscription, hub string, want []string) []proto.Message {
	f.t.Helper()
	var got []string
	var msgs []proto.Message
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for len(got) < len(want) {
		select {
		case ev, ok := <-s.C():
			if !ok {
				f.t.Fatalf("%s subscription ended: %v", hub, s.Err())
			}
			got = append(got, ev.EventType())
			msgs = append(msgs, events.Message(ev))
		case <-timer.C:
			f.t.Fatalf("%s events: got %v, want %v (timed out)", hub, got, want)
		}
	}
	for len(s.C()) > 0 {
		ev := <-s.C()
		got = append(got, ev.EventType())
	}
	if !slices.Equal(got, want) {
		f.t.Fatalf("%s events: got %v, want %v", hub, got, want)
	}
	return msgs
}

// wantError fails unless err is a *models.Error of type typ (and message
// msg when not empty).
func wantError(t *testing.T, err error, typ models.Error_Type, msg string) {
	t.Helper()
	var me *models.Error
	if !errors.As(err, &me) {
		t.Fatalf("error = %v, want a %v error", err, typ)
	}
	if me.GetType() != typ || msg != "" && me.GetMessage() != msg {
		t.Fatalf("error = %v %q, want %v %q", me.GetType(), me.GetMessage(), typ, msg)
	}
}

// noRespError fails if a response carries an error.
func noRespError(t *testing.T, e *models.Error) {
	t.Helper()
	if e != nil {
		t.Fatal(e)
	}
}

func noError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantAuctions checks the LRP auctions requested so far: one request per
// index, each built from the scheduling info of guid.
func (f *lrpFx) wantAuctions(guid string, indices ...int) {
	f.t.Helper()
	got := f.api.Auctioneer.LRPRequests()
	if len(got) != len(indices) {
		f.t.Fatalf("auctions = %d, want %d", len(got), len(indices))
	}
	if len(got) == 0 {
		return
	}
	info, err := f.api.DB.DesiredLRPSchedulingInfoByProcessGuid(context.Background(), guid)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, index := range indices {
		want := auctioneerclient.NewLRPStartRequest(info, index)
		if !reflect.DeepEqual(got[i], want) {
			f.t.Fatalf("auction %d = %+v, want %+v", i, got[i], want)
		}
	}
	if got[0].RootFs != "preloaded:cflinuxfs4" || got[0].MemoryMB != 256 || !slices.Equal(got[0].VolumeDrivers, []string{"nfs"}) {
		f.t.Fatalf("auction not built from the scheduling info: %+v", got[0])
	}
}

// post sends body to the route named, as raw bytes, and decodes the
// answer into resp.
func (f *lrpFx) post(name string, body []byte, resp proto.Message) {
	f.t.Helper()
	route, ok := routes.Lookup(name)
	if !ok {
		f.t.Fatalf("no route %s", name)
	}
	pki := f.api.PKI.Client
	tc, err := tlsconfig.Client(tlsconfig.Files{CAFile: pki.CAFile, CertFile: pki.CertFile, KeyFile: pki.KeyFile}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(context.Background(), route.Method, f.api.URL+route.Path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set(routes.RequestIDHeader, lrpTrace)
	res, err := hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	buf, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != routes.ProtobufContentType {
		f.t.Fatalf("%s: status %d, content type %q", name, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if err := models.Unmarshal(buf, resp); err != nil {
		f.t.Fatal(err)
	}
}

// postMessage is post with req marshalled.
func (f *lrpFx) postMessage(name string, req, resp proto.Message) {
	f.t.Helper()
	body, err := models.Marshal(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.post(name, body, resp)
}
