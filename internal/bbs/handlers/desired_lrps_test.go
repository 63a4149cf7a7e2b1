package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
	"google.golang.org/protobuf/proto"
)

// dlrp returns a valid desired LRP of n instances.
func dlrp(guid, domain string, n int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: domain, RootFs: "preloaded:cflinuxfs4", Instances: n,
		MemoryMb: 256, DiskMb: 1024, MaxPids: 1024, LogGuid: "log-" + guid, Annotation: "etag-1",
		Action:     &models.Action{RunAction: &models.RunAction{Path: "/bin/app", User: "vcap"}},
		Routes:     models.NewRoutes(map[string]json.RawMessage{"cf-router": json.RawMessage(`[{"hostnames":["a.example.com"],"port":8080}]`)}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		Ports:      []uint32{8080},
	}
}

// dlrpErr asserts that err is the BBS error of type typ with message msg
// ("" for any message).
func dlrpErr(t *testing.T, err error, typ models.Error_Type, msg string) {
	t.Helper()
	var e *models.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a BBS %s error", err, err, typ)
	}
	if e.GetType() != typ || msg != "" && e.GetMessage() != msg {
		t.Fatalf("error %s %q, want %s %q", e.GetType(), e.GetMessage(), typ, msg)
	}
}

// dlrpGuids returns the process guids of lrps, sorted.
func dlrpGuids(lrps []*models.DesiredLRP) []string {
	var out []string
	for _, d := range lrps {
		out = append(out, d.GetProcessGuid())
	}
	slices.Sort(out)
	return out
}

// dlrpPost sends body to the route called name over mTLS and returns the
// status, content type and body of the answer.
func dlrpPost(t *testing.T, api *bbstest.API, name string, body []byte) (int, string, []byte) {
	t.Helper()
	rt, ok := routes.Lookup(name)
	if !ok {
		t.Fatalf("no route %s", name)
	}
	cfg, err := tlsconfig.Client(tlsconfig.Files(api.PKI.Client), "")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(rt.Method, api.URL+rt.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), got
}

func TestDesiredLRPReads(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	c := api.Client
	for _, d := range []*models.DesiredLRP{
		dlrp("app1-v1", "cf-apps", 1), dlrp("app1-v2", "cf-apps", 0), dlrp("app2-v1", "cf-apps", 0), dlrp("other", "other-domain", 0),
	} {
		if err := c.DesireLRP(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	lists := []struct {
		name   string
		list   func(bbsclient.DesiredLRPFilter) ([]string, error)
		filter bbsclient.DesiredLRPFilter
		want   []string
	}{
		{"list all", desiredGuids(ctx, c.DesiredLRPs), bbsclient.DesiredLRPFilter{}, []string{"app1-v1", "app1-v2", "app2-v1", "other"}},
		{"list by domain", desiredGuids(ctx, c.DesiredLRPs), bbsclient.DesiredLRPFilter{Domain: "cf-apps"}, []string{"app1-v1", "app1-v2", "app2-v1"}},
		{"list by guids", desiredGuids(ctx, c.DesiredLRPs), bbsclient.DesiredLRPFilter{ProcessGuids: []string{"other", "app2-v1", "nope"}}, []string{"app2-v1", "other"}},
		{"list by app guids", desiredGuids(ctx, c.DesiredLRPs), bbsclient.DesiredLRPFilter{AppGuids: []string{"app1", "oth"}}, []string{"app1-v1", "app1-v2", "other"}},
		{"list by domain and app guid", desiredGuids(ctx, c.DesiredLRPs), bbsclient.DesiredLRPFilter{Domain: "cf-apps", AppGuids: []string{"app2"}}, []string{"app2-v1"}},
		{"list.r2 by domain", desiredGuids(ctx, c.DesiredLRPsR2), bbsclient.DesiredLRPFilter{Domain: "other-domain"}, []string{"other"}},
		{"scheduling infos by domain", schedulingGuids(ctx, c), bbsclient.DesiredLRPFilter{Domain: "other-domain"}, []string{"other"}},
		{"scheduling infos ignore app guids", schedulingGuids(ctx, c), bbsclient.DesiredLRPFilter{AppGuids: []string{"app2"}}, []string{"app1-v1", "app1-v2", "app2-v1", "other"}},
		{"scheduling infos by guids", schedulingGuids(ctx, c), bbsclient.DesiredLRPFilter{ProcessGuids: []string{"app1-v2"}}, []string{"app1-v2"}},
		{"routing infos ignore domain", desiredGuids(ctx, c.DesiredLRPRoutingInfos), bbsclient.DesiredLRPFilter{Domain: "other-domain"}, []string{"app1-v1", "app1-v2", "app2-v1", "other"}},
		{"routing infos by guids", desiredGuids(ctx, c.DesiredLRPRoutingInfos), bbsclient.DesiredLRPFilter{ProcessGuids: []string{"app1-v1", "other"}}, []string{"app1-v1", "other"}},
	}
	for _, tc := range lists {
		got, err := tc.list(tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	got, err := c.DesiredLRPByProcessGuid(ctx, "app1-v1")
	if err != nil {
		t.Fatal(err)
	}
	want := dlrp("app1-v1", "cf-apps", 1)
	want.MetricsGuid = "app1-v1" // populated from the source_id tag
	if got.GetModificationTag().GetEpoch() == "" || got.GetModificationTag().GetIndex() != 0 {
		t.Errorf("modification tag %v, want a fresh epoch and index 0", got.GetModificationTag())
	}
	want.ModificationTag = got.ModificationTag
	models.FillNonNullable(want)
	if !proto.Equal(got, want) {
		t.Errorf("get.r3:\n got  %v\n want %v", got, want)
	}

	info, err := c.DesiredLRPSchedulingInfoByProcessGuid(ctx, "app1-v1")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(info, got.SchedulingInfo()) {
		t.Errorf("scheduling info:\n got  %v\n want %v", info, got.SchedulingInfo())
	}

	routing, err := c.DesiredLRPRoutingInfos(ctx, bbsclient.DesiredLRPFilter{ProcessGuids: []string{"app1-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	wantRouting := got.RoutingInfo()
	wantRouting.MetricsGuid = ""
	models.FillNonNullable(wantRouting)
	if len(routing) != 1 || !proto.Equal(routing[0], wantRouting) {
		t.Errorf("routing infos:\n got  %v\n want %v", routing, wantRouting)
	}
	if r := routing[0]; r.GetAction() != nil || r.GetRootFs() != "" || r.GetAnnotation() != "" || r.GetMetricsGuid() != "" {
		t.Errorf("routing info carries more than the routing fields: %v", r)
	}

	for name, get := range map[string]func() error{
		"get.r3":          func() error { _, err := c.DesiredLRPByProcessGuid(ctx, "missing"); return err },
		"get.r2":          func() error { _, err := c.DesiredLRPByProcessGuidR2(ctx, "missing"); return err },
		"scheduling info": func() error { _, err := c.DesiredLRPSchedulingInfoByProcessGuid(ctx, "missing"); return err },
	} {
		t.Run(name+" missing", func(t *testing.T) {
			dlrpErr(t, get(), models.Error_ResourceNotFound, "the requested resource could not be found")
		})
	}
	for name, get := range map[string]func() error{
		"get.r3":          func() error { _, err := c.DesiredLRPByProcessGuid(ctx, ""); return err },
		"get.r2":          func() error { _, err := c.DesiredLRPByProcessGuidR2(ctx, ""); return err },
		"scheduling info": func() error { _, err := c.DesiredLRPSchedulingInfoByProcessGuid(ctx, ""); return err },
	} {
		t.Run(name, func(t *testing.T) { dlrpErr(t, get(), models.Error_InvalidRequest, "Invalid field: process_guid") })
	}
}

func desiredGuids(ctx context.Context, list func(context.Context, bbsclient.DesiredLRPFilter) ([]*models.DesiredLRP, error)) func(bbsclient.DesiredLRPFilter) ([]string, error) {
	return func(f bbsclient.DesiredLRPFilter) ([]string, error) {
		lrps, err := list(ctx, f)
		return dlrpGuids(lrps), err
	}
}

func schedulingGuids(ctx context.Context, c *bbsclient.Client) func(bbsclient.DesiredLRPFilter) ([]string, error) {
	return func(f bbsclient.DesiredLRPFilter) ([]string, error) {
		infos, err := c.DesiredLRPSchedulingInfos(ctx, f)
		var out []string
		for _, i := range infos {
			out = append(out, i.GetDesiredLrpKey().GetProcessGuid())
		}
		slices.Sort(out)
		return out, err
	}
}

// TestDesiredLRPMetricsGuid: every desired_lrps response fills metrics_guid
// and the source_id tag from each other.
func TestDesiredLRPMetricsGuid(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	fromTag := dlrp("from-tag", "cf-apps", 0)
	fromTag.MetricTags = map[string]*models.MetricTagValue{"source_id": {Static: "src"}, "index": {Dynamic: models.MetricTagValue_INDEX}}
	if err := api.Client.DesireLRP(ctx, fromTag); err != nil {
		t.Fatal(err)
	}
	// The API refuses a metrics_guid without a matching source_id tag, but
	// rows written by older BBSes have them.
	fromGuid := dlrp("from-guid", "cf-apps", 0)
	fromGuid.MetricsGuid = "mg"
	fromGuid.MetricTags = map[string]*models.MetricTagValue{"index": {Dynamic: models.MetricTagValue_INDEX}}
	if _, err := api.DB.DesireLRP(ctx, fromGuid); err != nil {
		t.Fatal(err)
	}

	check := func(name string, d *models.DesiredLRP) {
		t.Helper()
		switch d.GetProcessGuid() {
		case "from-tag":
			if d.GetMetricsGuid() != "src" || len(d.GetMetricTags()) != 2 {
				t.Errorf("%s: metrics guid %q, tags %v; want src and the two tags", name, d.GetMetricsGuid(), d.GetMetricTags())
			}
		case "from-guid":
			if d.GetMetricsGuid() != "mg" || d.GetMetricTags()["source_id"].GetStatic() != "mg" || len(d.GetMetricTags()) != 2 {
				t.Errorf("%s: metrics guid %q, tags %v; want mg and a source_id tag mg", name, d.GetMetricsGuid(), d.GetMetricTags())
			}
		default:
			t.Errorf("%s: unexpected %s", name, d.GetProcessGuid())
		}
	}
	for _, guid := range []string{"from-tag", "from-guid"} {
		d, err := api.Client.DesiredLRPByProcessGuid(ctx, guid)
		if err != nil {
			t.Fatal(err)
		}
		check("get.r3", d)
		d, err = api.Client.DesiredLRPByProcessGuidR2(ctx, guid)
		if err != nil {
			t.Fatal(err)
		}
		check("get.r2", d)
	}
	for name, list := range map[string]func(context.Context, bbsclient.DesiredLRPFilter) ([]*models.DesiredLRP, error){
		"list.r3": api.Client.DesiredLRPs, "list.r2": api.Client.DesiredLRPsR2,
	} {
		lrps, err := list(ctx, bbsclient.DesiredLRPFilter{})
		if err != nil || len(lrps) != 2 {
			t.Fatalf("%s: %d lrps, %v", name, len(lrps), err)
		}
		for _, d := range lrps {
			check(name, d)
		}
	}
	// The routing infos are not a desired_lrps route: they show the stored
	// tags only.
	routing, err := api.Client.DesiredLRPRoutingInfos(ctx, bbsclient.DesiredLRPFilter{ProcessGuids: []string{"from-guid"}})
	if err != nil || len(routing) != 1 {
		t.Fatalf("routing infos: %v, %v", routing, err)
	}
	if _, ok := routing[0].GetMetricTags()["source_id"]; ok || routing[0].GetMetricsGuid() != "" {
		t.Errorf("routing info %v was populated", routing[0])
	}
}

// dlrpWithLayers is a desired LRP with a shared and an exclusive image layer
// and a setup action, which V2 shows differently.
func dlrpWithLayers(guid string) *models.DesiredLRP {
	d := dlrp(guid, "cf-apps", 0)
	d.Setup = &models.Action{DownloadAction: &models.DownloadAction{From: "http://x/droplet", To: "/app", User: "vcap"}}
	d.LegacyDownloadUser = "legacy"
	d.CachedDependencies = []*models.CachedDependency{{Name: "dep", From: "http://x/dep", To: "/dep", CacheKey: "dep"}}
	d.ImageLayers = []*models.ImageLayer{
		{Name: "shared", Url: "http://x/shared", DestinationPath: "/shared", LayerType: models.ImageLayer_SHARED,
			MediaType: models.ImageLayer_TGZ, DigestAlgorithm: models.ImageLayer_SHA256, DigestValue: "s1"},
		{Name: "excl", Url: "http://x/excl", DestinationPath: "/excl", LayerType: models.ImageLayer_EXCLUSIVE,
			MediaType: models.ImageLayer_TGZ, DigestAlgorithm: models.ImageLayer_SHA256, DigestValue: "e1"},
	}
	return d
}

func TestDesiredLRPR2Routes(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	if err := api.Client.DesireLRP(ctx, dlrpWithLayers("layered")); err != nil {
		t.Fatal(err)
	}
	v3, err := api.Client.DesiredLRPByProcessGuid(ctx, "layered")
	if err != nil {
		t.Fatal(err)
	}
	if len(v3.GetImageLayers()) != 2 || len(v3.GetCachedDependencies()) != 1 || v3.GetSetup().GetDownloadAction() == nil {
		t.Fatalf("r3 is not the stored model: %v", v3)
	}
	v2, err := api.Client.DesiredLRPByProcessGuidR2(ctx, "layered")
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.GetImageLayers()) != 0 {
		t.Errorf("r2 keeps image layers: %v", v2.GetImageLayers())
	}
	deps := v2.GetCachedDependencies()
	if len(deps) != 2 || deps[0].GetName() != "shared" || deps[0].GetFrom() != "http://x/shared" ||
		deps[0].GetCacheKey() != "sha256:s1" || deps[0].GetChecksumAlgorithm() != "sha256" || deps[1].GetName() != "dep" {
		t.Errorf("r2 cached dependencies %v, want the shared layer then dep", deps)
	}
	steps := v2.GetSetup().GetSerialAction().GetActions()
	if len(steps) != 2 {
		t.Fatalf("r2 setup %v, want a serial action of two steps", v2.GetSetup())
	}
	downloads := steps[0].GetParallelAction().GetActions()
	if len(downloads) != 1 || downloads[0].GetDownloadAction().GetFrom() != "http://x/excl" ||
		downloads[0].GetDownloadAction().GetUser() != "legacy" || downloads[0].GetDownloadAction().GetCacheKey() != "sha256:e1" {
		t.Errorf("r2 setup downloads %v, want the exclusive layer as user legacy", downloads)
	}
	if steps[1].GetDownloadAction().GetFrom() != "http://x/droplet" {
		t.Errorf("r2 setup's second step %v, want the original setup", steps[1])
	}
	if want := models.PopulateMetricsGuid(models.DesiredLRPToV2(v3)); !proto.Equal(v2, want) {
		t.Errorf("r2 is not the V2 form of r3:\n got  %v\n want %v", v2, want)
	}
	list, err := api.Client.DesiredLRPsR2(ctx, bbsclient.DesiredLRPFilter{})
	if err != nil || len(list) != 1 || !proto.Equal(list[0], v2) {
		t.Errorf("list.r2 %v (%v), want [%v]", list, err, v2)
	}
	list, err = api.Client.DesiredLRPs(ctx, bbsclient.DesiredLRPFilter{})
	if err != nil || len(list) != 1 || !proto.Equal(list[0], v3) {
		t.Errorf("list.r3 %v (%v), want [%v]", list, err, v3)
	}
}

// dlrpNothingWritten asserts that the store holds no desired or actual LRP
// and no auction was asked for.
func dlrpNothingWritten(t *testing.T, api *bbstest.API) {
	t.Helper()
	ctx := context.Background()
	lrps, err := api.DB.DesiredLRPs(ctx, db.DesiredLRPFilter{})
	if err != nil || len(lrps) != 0 {
		t.Errorf("desired LRPs %v (%v), want none", dlrpGuids(lrps), err)
	}
	actual, err := api.DB.ActualLRPs(ctx, db.ActualLRPFilter{})
	if err != nil || len(actual) != 0 {
		t.Errorf("actual LRPs %v (%v), want none", actual, err)
	}
	if reqs := api.Auctioneer.LRPRequests(); len(reqs) != 0 {
		t.Errorf("auction requests %v, want none", reqs)
	}
}

func TestDesireLRPRefused(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	src, err := api.Client.SubscribeToInstanceEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	cases := []struct {
		name   string
		mutate func(d *models.DesiredLRP)
		want   string
	}{
		{"guid with a space", func(d *models.DesiredLRP) { d.ProcessGuid = "a b" }, "Invalid field: process_guid"},
		{"no guid", func(d *models.DesiredLRP) { d.ProcessGuid = "" }, "Invalid field: process_guid"},
		{"no domain", func(d *models.DesiredLRP) { d.Domain = "" }, "Invalid field: domain, Invalid field: domain"},
		{"no rootfs", func(d *models.DesiredLRP) { d.RootFs = "" }, "Invalid field: rootfs, Invalid field: rootfs"},
		{"rootfs without a scheme", func(d *models.DesiredLRP) { d.RootFs = "cflinuxfs4" }, "Invalid field: rootfs"},
		{"negative instances", func(d *models.DesiredLRP) { d.Instances = -1 }, "Invalid field: instances"},
		{"annotation over 10 KiB", func(d *models.DesiredLRP) { d.Annotation = strings.Repeat("a", 10*1024+1) }, "Invalid field: annotation"},
		{"routes over 128 KiB", func(d *models.DesiredLRP) {
			d.Routes = &models.ProtoRoutes{Routes: map[string][]byte{"cf-router": bytes.Repeat([]byte("a"), 128*1024+1)}}
		}, "Invalid field: routes"},
		{"no metric tags", func(d *models.DesiredLRP) { d.MetricTags = nil }, "Invalid field: metric_tags"},
		{"metric tag static and dynamic", func(d *models.DesiredLRP) {
			d.MetricTags["x"] = &models.MetricTagValue{Static: "s", Dynamic: models.MetricTagValue_INDEX}
		}, "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"metrics guid without its source id", func(d *models.DesiredLRP) { d.MetricsGuid = "other" },
			"Invalid field: metric_tags, Invalid field: source_id should match metrics_guid"},
		{"no action", func(d *models.DesiredLRP) { d.Action = nil }, "invalid action type"},
		{"image username alone", func(d *models.DesiredLRP) { d.ImageUsername = "u" }, "Invalid field: image_password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dlrp("refused", "cf-apps", 3)
			tc.mutate(d)
			dlrpErr(t, api.Client.DesireLRP(ctx, d), models.Error_InvalidRequest, tc.want)
			dlrpNothingWritten(t, api)
		})
	}
	t.Run("no desired lrp", func(t *testing.T) {
		dlrpErr(t, api.Client.DesireLRP(ctx, nil), models.Error_InvalidRequest, "Invalid field: desired_lrp")
		dlrpNothingWritten(t, api)
	})
	t.Run("unparseable body", func(t *testing.T) {
		status, ctype, body := dlrpPost(t, api, routes.DesireDesiredLRP, []byte{0xff, 0xff, 0xff})
		var resp models.DesiredLRPLifecycleResponse
		if status != http.StatusOK || ctype != "application/x-protobuf" || models.Unmarshal(body, &resp) != nil {
			t.Fatalf("status %d, type %q, body %q", status, ctype, body)
		}
		dlrpErr(t, resp.GetError(), models.Error_InvalidRequest, "the request received is invalid")
		dlrpNothingWritten(t, api)
	})

	// The first event the stream sees is the one of a valid request: the
	// refused ones announced nothing.
	if err := api.Client.DesireLRP(ctx, dlrp("accepted", "cf-apps", 0)); err != nil {
		t.Fatal(err)
	}
	ev, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ev.(*models.DesiredLRPCreatedEvent); !ok || c.GetDesiredLrp().GetProcessGuid() != "accepted" {
		t.Fatalf("first event %v, want accepted's desired_lrp_created", ev)
	}

	// A guid already taken.
	before, err := api.Client.DesiredLRPByProcessGuid(ctx, "accepted")
	if err != nil {
		t.Fatal(err)
	}
	taken := dlrp("accepted", "cf-apps", 4)
	dlrpErr(t, api.Client.DesireLRP(ctx, taken), models.Error_ResourceExists, "the requested resource already exists")
	after, err := api.Client.DesiredLRPByProcessGuid(ctx, "accepted")
	if err != nil || !proto.Equal(before, after) {
		t.Errorf("after a refused duplicate: %v (%v), want %v", after, err, before)
	}
}

func TestUpdateDesiredLRPRefused(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	if err := api.Client.DesireLRP(ctx, dlrp("pg", "cf-apps", 1)); err != nil {
		t.Fatal(err)
	}
	stored, err := api.Client.DesiredLRPByProcessGuid(ctx, "pg")
	if err != nil {
		t.Fatal(err)
	}
	n := func(i int32) *int32 { return &i }
	s := func(v string) *string { return &v }
	cases := []struct {
		name   string
		guid   string
		update *models.DesiredLRPUpdate
		typ    models.Error_Type
		want   string
	}{
		{"no update", "pg", nil, models.Error_InvalidRequest, "Invalid field: update"},
		{"no guid", "", &models.DesiredLRPUpdate{Instances: n(2)}, models.Error_InvalidRequest, "Invalid field: process_guid"},
		{"negative instances", "pg", &models.DesiredLRPUpdate{Instances: n(-1)}, models.Error_InvalidRequest, "Invalid field: instances"},
		{"annotation over 10 KiB", "pg", &models.DesiredLRPUpdate{Annotation: s(strings.Repeat("a", 10*1024+1))}, models.Error_InvalidRequest, "Invalid field: annotation"},
		{"routes over 128 KiB", "pg", &models.DesiredLRPUpdate{Routes: &models.ProtoRoutes{Routes: map[string][]byte{"x": bytes.Repeat([]byte("a"), 128*1024+1)}}},
			models.Error_InvalidRequest, "Invalid field: routes"},
		{"metric tag with neither value", "pg", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{"x": {}}},
			models.Error_InvalidRequest, "Invalid field: metric_tags, Invalid field: static, Invalid field: dynamic"},
		{"image password alone", "pg", &models.DesiredLRPUpdate{ImagePassword: s("p")}, models.Error_InvalidRequest, "Invalid field: image_username"},
		{"missing lrp", "missing", &models.DesiredLRPUpdate{Instances: n(2)}, models.Error_ResourceNotFound, "the requested resource could not be found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dlrpErr(t, api.Client.UpdateDesiredLRP(ctx, tc.guid, tc.update), tc.typ, tc.want)
			got, err := api.Client.DesiredLRPByProcessGuid(ctx, "pg")
			if err != nil || !proto.Equal(got, stored) {
				t.Errorf("after a refused update: %v (%v), want %v", got, err, stored)
			}
			if reqs := api.Auctioneer.LRPRequests(); len(reqs) != 1 {
				t.Errorf("%d auction requests, want the desire's only", len(reqs))
			}
			if _, err := api.Client.DesiredLRPByProcessGuid(ctx, "missing"); err == nil {
				t.Error("a refused update created its LRP")
			}
		})
	}
}

func TestRemoveDesiredLRPRefused(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	dlrpErr(t, api.Client.RemoveDesiredLRP(ctx, ""), models.Error_InvalidRequest, "Invalid field: process_guid")
	dlrpErr(t, api.Client.RemoveDesiredLRP(ctx, "missing"), models.Error_ResourceNotFound, "the requested resource could not be found")
	if err := api.Client.DesireLRP(ctx, dlrp("pg", "cf-apps", 0)); err != nil {
		t.Fatal(err)
	}
	if err := api.Client.RemoveDesiredLRP(ctx, "pg"); err != nil {
		t.Fatal(err)
	}
	dlrpErr(t, api.Client.RemoveDesiredLRP(ctx, "pg"), models.Error_ResourceNotFound, "")
	dlrpNothingWritten(t, api)
}
