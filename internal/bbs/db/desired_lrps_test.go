package db

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// desiredFixture is a desired LRP with every field set.
func desiredFixture(guid, domain string) *models.DesiredLRP {
	nofile := uint64(1024)
	return &models.DesiredLRP{
		ProcessGuid:          guid,
		Domain:               domain,
		RootFs:               "preloaded:cflinuxfs4",
		Instances:            3,
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Setup:                &models.Action{DownloadAction: &models.DownloadAction{From: "http://x/app.tgz", To: "/home/vcap", CacheKey: "droplet", User: "vcap"}},
		Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/app", Args: []string{"-p", "8080"}, User: "vcap",
			ResourceLimits: &models.ResourceLimits{Nofile: &nofile}}},
		StartTimeoutMs:          60000,
		DeprecatedStartTimeoutS: 60,
		Monitor:                 &models.Action{TimeoutAction: &models.TimeoutAction{Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/check"}}, TimeoutMs: 1000}},
		DiskMb:                  1024,
		MemoryMb:                512,
		CpuWeight:               10,
		Privileged:              true,
		Ports:                   []uint32{8080, 2222, 8080},
		Routes: models.NewRoutes(map[string]json.RawMessage{
			"cf-router":       json.RawMessage(`[{"hostnames":["a.example.com"],"port":8080}]`),
			"internal-router": json.RawMessage(`[{"hostname":"a.apps.internal"}]`),
		}),
		LogSource:                     "APP/PROC/WEB",
		LogGuid:                       "log-" + guid,
		MetricsGuid:                   "metrics-guid",
		Annotation:                    "etag-1",
		EgressRules:                   []*models.SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"0.0.0.0/0"}, Ports: []uint32{443}}},
		ModificationTag:               &models.ModificationTag{Epoch: "ignored", Index: 9},
		CachedDependencies:            []*models.CachedDependency{{Name: "bp", From: "http://x/bp", To: "/tmp/bp", CacheKey: "bp"}},
		LegacyDownloadUser:            "vcap",
		TrustedSystemCertificatesPath: "/etc/cf-system-certificates",
		VolumeMounts: []*models.VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw",
			Shared: &models.SharedDevice{VolumeId: "v1", MountConfig: `{"uid":"1000"}`}}},
		Network:               &models.Network{Properties: map[string]string{"policy_group_id": "g1"}},
		PlacementTags:         []string{"zone-a", "isolated"},
		MaxPids:               1024,
		CertificateProperties: &models.CertificateProperties{OrganizationalUnit: []string{"app:" + guid}},
		ImageUsername:         "user",
		ImagePassword:         "secret",
		CheckDefinition: &models.CheckDefinition{LogSource: "HEALTH",
			Checks:          []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080, Path: "/health"}}},
			ReadinessChecks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
		ImageLayers: []*models.ImageLayer{{Name: "layer", Url: "http://x/l.tgz", DestinationPath: "/l", LayerType: models.ImageLayer_SHARED,
			MediaType: models.ImageLayer_TGZ, DigestAlgorithm: models.ImageLayer_SHA256, DigestValue: "abc"}},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: "app<&>"}, "instance_id": {Dynamic: models.MetricTagValue_INDEX}},
		Sidecars: []*models.Sidecar{{Action: &models.Action{RunAction: &models.RunAction{Path: "/sidecar"}},
			DiskMb: 10, MemoryMb: 20}},
		LogRateLimit:       &models.LogRateLimit{BytesPerSecond: -1},
		VolumeMountedFiles: []*models.File{{Path: "/etc/x", Content: "y"}},
		UpdateStrategy:     models.DesiredLRP_RECREATE,
	}
}

// storedForm is what reading a desired LRP returns for d, desired with
// mod tag epoch: the documented normalisations of the reference.
func storedForm(d *models.DesiredLRP, epoch string) *models.DesiredLRP {
	want := proto.Clone(d).(*models.DesiredLRP)
	want.ModificationTag = &models.ModificationTag{Epoch: epoch} // fresh epoch, index 0
	want.DeprecatedStartTimeoutS = 0                             // not stored
	want.Ports = models.DedupPorts(want.Ports)                   // repeats removed
	if want.Routes == nil {
		want.Routes = &models.ProtoRoutes{} // always present
	}
	return want
}

func TestDesiredLRPRoundTrip(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		d := desiredFixture("app-1", "cf-apps")
		unset := []string{}
		fields := d.ProtoReflect().Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			if !d.ProtoReflect().Has(fields.Get(i)) {
				unset = append(unset, string(fields.Get(i).Name()))
			}
		}
		if len(unset) > 0 {
			t.Fatalf("fixture leaves %v unset", unset)
		}
		orig := proto.Clone(d)
		stored, err := fx.db.DesireLRP(fx.ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(d, orig) {
			t.Fatal("DesireLRP changed its argument")
		}
		want := storedForm(d, "epoch-1")
		if !proto.Equal(stored, want) {
			t.Fatalf("DesireLRP returned\n%v\nwant\n%v", stored, want)
		}
		got, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "app-1")
		if err != nil || !proto.Equal(got, want) {
			t.Fatalf("read back (%v)\n%v\nwant\n%v", err, got, want)
		}
		all, err := fx.db.DesiredLRPs(fx.ctx, DesiredLRPFilter{})
		if err != nil || len(all) != 1 || !proto.Equal(all[0], want) {
			t.Fatalf("listed (%v) %v", err, all)
		}
		sched, err := fx.db.DesiredLRPSchedulingInfoByProcessGuid(fx.ctx, "app-1")
		if err != nil || !proto.Equal(sched, want.SchedulingInfo()) {
			t.Fatalf("scheduling info (%v)\n%v\nwant\n%v", err, sched, want.SchedulingInfo())
		}
		routing, err := fx.db.DesiredLRPRoutingInfos(fx.ctx, DesiredLRPFilter{})
		if err != nil || len(routing) != 1 || !proto.Equal(routing[0], want.RoutingInfo()) {
			t.Fatalf("routing info (%v) %v", err, routing)
		}
		strategy, instances, err := fx.db.DesiredLRPUpdateStrategyByProcessGuid(fx.ctx, "app-1")
		if err != nil || strategy != models.DesiredLRP_RECREATE || instances != 3 {
			t.Fatalf("update strategy %v %d %v", strategy, instances, err)
		}

		// A minimal LRP: no routes, tags or placement tags.
		bare := &models.DesiredLRP{ProcessGuid: "bare", Domain: "d", RootFs: "docker:///x", Action: d.Action}
		if _, err := fx.db.DesireLRP(fx.ctx, bare); err != nil {
			t.Fatal(err)
		}
		got, err = fx.db.DesiredLRPByProcessGuid(fx.ctx, "bare")
		if want := storedForm(bare, "epoch-2"); err != nil || !proto.Equal(got, want) {
			t.Fatalf("bare read back (%v)\n%v\nwant\n%v", err, got, want)
		}
	})
}

func TestDesiredLRPAtRest(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		d := desiredFixture("app-1", "cf-apps")
		if _, err := fx.db.DesireLRP(fx.ctx, d); err != nil {
			t.Fatal(err)
		}
		where := "process_guid = 'app-1'"
		plain := map[string]string{
			"routes":      `{"cf-router":[{"hostnames":["a.example.com"],"port":8080}],"internal-router":[{"hostname":"a.apps.internal"}]}`,
			"metric_tags": `{"instance_id":{"dynamic":"INDEX"},"source_id":{"static":"app\u003c\u0026\u003e"}}`,
		}
		for col, want := range plain {
			raw := fx.column("desired_lrps", col, where)
			if !strings.HasPrefix(string(raw), "02") {
				t.Fatalf("%s stored as %q", col, raw)
			}
			if got, err := fx.db.crypt.Decrypt(raw); err != nil || string(got) != want {
				t.Errorf("%s holds %q (%v), want %q", col, got, err, want)
			}
		}
		var run models.DesiredLRPRunInfo
		if err := fx.db.crypt.UnmarshalModel(fx.column("desired_lrps", "run_info", where), &run); err != nil ||
			run.CreatedAt != fxStart.UnixNano() || run.ImagePassword != "secret" || len(run.MetricTags) != 0 {
			t.Fatalf("run info %v, %v", &run, err)
		}
		var placement models.VolumePlacement
		if err := fx.db.crypt.UnmarshalModel(fx.column("desired_lrps", "volume_placement", where), &placement); err != nil ||
			!slices.Equal(placement.DriverNames, []string{"nfs"}) {
			t.Fatalf("volume placement %v, %v", &placement, err)
		}
		if raw := fx.column("desired_lrps", "placement_tags", where); string(raw) != `["zone-a","isolated"]` {
			t.Fatalf("placement tags %q", raw)
		}
		if n := fx.count("desired_lrps", where+" AND annotation = 'etag-1' AND modification_tag_epoch = 'epoch-1' AND modification_tag_index = 0 AND update_strategy = 1 AND max_pids = 1024"); n != 1 {
			t.Fatal("plain columns not as expected")
		}
	})
}

func TestDesiredLRPFilters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		for _, l := range []struct{ guid, domain string }{
			{"app1-v1", "cf-apps"}, {"app1-v2", "cf-apps"}, {"app2-v1", "cf-apps"}, {"app3-v1", "other"},
		} {
			if _, err := fx.db.DesireLRP(fx.ctx, desiredFixture(l.guid, l.domain)); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name                 string
			filter               DesiredLRPFilter
			lrps, sched, routing []string
		}{
			{"all", DesiredLRPFilter{}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}},
			{"domain", DesiredLRPFilter{Domain: "other"}, []string{"app3-v1"}, []string{"app3-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}},
			{"guids", DesiredLRPFilter{ProcessGuids: []string{"app1-v2", "app3-v1", "nope"}}, []string{"app1-v2", "app3-v1"}, []string{"app1-v2", "app3-v1"}, []string{"app1-v2", "app3-v1"}},
			{"domain and guids", DesiredLRPFilter{Domain: "cf-apps", ProcessGuids: []string{"app1-v2", "app3-v1"}}, []string{"app1-v2"}, []string{"app1-v2"}, []string{"app1-v2", "app3-v1"}},
			{"app guids", DesiredLRPFilter{AppGuids: []string{"app1", "app3"}}, []string{"app1-v1", "app1-v2", "app3-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}},
			{"app guids and domain", DesiredLRPFilter{AppGuids: []string{"app1", "app3"}, Domain: "cf-apps"}, []string{"app1-v1", "app1-v2"}, []string{"app1-v1", "app1-v2", "app2-v1"}, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}},
			{"app guids and guids", DesiredLRPFilter{AppGuids: []string{"app1"}, ProcessGuids: []string{"app1-v1", "app2-v1"}}, []string{"app1-v1"}, []string{"app1-v1", "app2-v1"}, []string{"app1-v1", "app2-v1"}},
			{"nothing", DesiredLRPFilter{Domain: "none"}, nil, nil, []string{"app1-v1", "app1-v2", "app2-v1", "app3-v1"}},
		}
		for _, c := range cases {
			lrps, err := fx.db.DesiredLRPs(fx.ctx, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			sched, err := fx.db.DesiredLRPSchedulingInfos(fx.ctx, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			routing, err := fx.db.DesiredLRPRoutingInfos(fx.ctx, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			var g1, g2, g3 []string
			for _, l := range lrps {
				g1 = append(g1, l.ProcessGuid)
			}
			for _, s := range sched {
				g2 = append(g2, s.DesiredLrpKey.ProcessGuid)
			}
			for _, r := range routing {
				g3 = append(g3, r.ProcessGuid)
				if r.Action != nil || r.MetricTags == nil || r.Routes == nil {
					t.Errorf("routing info carries more or less than routing: %v", r)
				}
			}
			sort.Strings(g1)
			sort.Strings(g2)
			sort.Strings(g3)
			if !slices.Equal(g1, c.lrps) || !slices.Equal(g2, c.sched) || !slices.Equal(g3, c.routing) {
				t.Errorf("%s: lrps %v sched %v routing %v, want %v %v %v", c.name, g1, g2, g3, c.lrps, c.sched, c.routing)
			}
		}
	})
}

func TestDesiredLRPErrors(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		if _, err := fx.db.DesireLRP(fx.ctx, desiredFixture("app", "cf-apps")); err != nil {
			t.Fatal(err)
		}
		badRoutes := desiredFixture("bad-routes", "cf-apps")
		badRoutes.Routes = &models.ProtoRoutes{Routes: map[string][]byte{"cf-router": []byte("{not json")}}
		cases := []struct {
			name string
			call func() error
			want *models.Error
		}{
			{"desire a taken guid", func() error { _, err := fx.db.DesireLRP(fx.ctx, desiredFixture("app", "x")); return err }, models.ErrResourceExists},
			{"desire with bad routes", func() error { _, err := fx.db.DesireLRP(fx.ctx, badRoutes); return err }, models.ErrBadRequest},
			{"desire a too long guid", func() error {
				_, err := fx.db.DesireLRP(fx.ctx, desiredFixture(strings.Repeat("g", 256), "x"))
				return err
			}, models.ErrBadRequest},
			{"get missing", func() error { _, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "nope"); return err }, models.ErrResourceNotFound},
			{"scheduling info missing", func() error { _, err := fx.db.DesiredLRPSchedulingInfoByProcessGuid(fx.ctx, "nope"); return err }, models.ErrResourceNotFound},
			{"update strategy missing", func() error { _, _, err := fx.db.DesiredLRPUpdateStrategyByProcessGuid(fx.ctx, "nope"); return err }, models.ErrResourceNotFound},
			{"update missing", func() error {
				_, _, err := fx.db.UpdateDesiredLRP(fx.ctx, "nope", &models.DesiredLRPUpdate{})
				return err
			}, models.ErrResourceNotFound},
			{"update with bad routes", func() error {
				_, _, err := fx.db.UpdateDesiredLRP(fx.ctx, "app", &models.DesiredLRPUpdate{Routes: badRoutes.Routes})
				return err
			}, models.ErrBadRequest},
			{"remove missing", func() error { _, err := fx.db.RemoveDesiredLRP(fx.ctx, "nope"); return err }, models.ErrResourceNotFound},
		}
		for _, c := range cases {
			wantErr(t, c.name, c.call(), c.want)
		}
		if n := fx.count("desired_lrps", "1 = 1"); n != 1 {
			t.Fatalf("%d rows after failed calls", n)
		}
	})
}

func TestUpdateDesiredLRP(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	str := func(v string) *string { return &v }
	newRoutes := models.NewRoutes(map[string]json.RawMessage{"cf-router": json.RawMessage(`[{"hostnames":["b.example.com"],"port":8080}]`)})
	newTags := map[string]*models.MetricTagValue{"app": {Static: "renamed"}}
	cases := []struct {
		name   string
		update *models.DesiredLRPUpdate
		apply  func(*models.DesiredLRP)
	}{
		{"nothing but the index", &models.DesiredLRPUpdate{}, func(*models.DesiredLRP) {}},
		{"instances", &models.DesiredLRPUpdate{Instances: i32(0)}, func(d *models.DesiredLRP) { d.Instances = 0 }},
		{"annotation", &models.DesiredLRPUpdate{Annotation: str("etag-2")}, func(d *models.DesiredLRP) { d.Annotation = "etag-2" }},
		{"routes", &models.DesiredLRPUpdate{Routes: newRoutes}, func(d *models.DesiredLRP) { d.Routes = newRoutes }},
		{"metric tags", &models.DesiredLRPUpdate{MetricTags: newTags}, func(d *models.DesiredLRP) { d.MetricTags = newTags }},
		{"empty metric tags change nothing", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{}}, func(*models.DesiredLRP) {}},
		{"image credentials", &models.DesiredLRPUpdate{ImageUsername: str("u2"), ImagePassword: str("p2")},
			func(d *models.DesiredLRP) { d.ImageUsername, d.ImagePassword = "u2", "p2" }},
		{"everything", &models.DesiredLRPUpdate{Instances: i32(7), Annotation: str("x"), Routes: newRoutes, MetricTags: newTags,
			ImageUsername: str("u3"), ImagePassword: str("p3")}, func(d *models.DesiredLRP) {
			d.Instances, d.Annotation, d.Routes, d.MetricTags, d.ImageUsername, d.ImagePassword = 7, "x", newRoutes, newTags, "u3", "p3"
		}},
	}
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		for _, c := range cases {
			guid := strings.ReplaceAll(c.name, " ", "-")
			created, err := fx.db.DesireLRP(fx.ctx, desiredFixture(guid, "cf-apps"))
			if err != nil {
				t.Fatal(err)
			}
			for round := uint32(1); round <= 2; round++ {
				before, after, err := fx.db.UpdateDesiredLRP(fx.ctx, guid, c.update)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				want := proto.Clone(created).(*models.DesiredLRP)
				c.apply(want)
				want.ModificationTag.Index = round
				if round == 1 && !proto.Equal(before, created) {
					t.Errorf("%s: before\n%v\nwant\n%v", c.name, before, created)
				}
				if !proto.Equal(after, want) {
					t.Errorf("%s: after\n%v\nwant\n%v", c.name, after, want)
				}
				if got, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, guid); err != nil || !proto.Equal(got, after) {
					t.Errorf("%s: read back (%v)\n%v\nwant\n%v", c.name, err, got, after)
				}
			}
		}
	})
}

func TestRemoveDesiredLRP(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		created, err := fx.db.DesireLRP(fx.ctx, desiredFixture("app", "cf-apps"))
		if err != nil {
			t.Fatal(err)
		}
		removed, err := fx.db.RemoveDesiredLRP(fx.ctx, "app")
		if err != nil || !proto.Equal(removed, created) {
			t.Fatalf("removed (%v) %v", err, removed)
		}
		_, err = fx.db.DesiredLRPByProcessGuid(fx.ctx, "app")
		wantErr(t, "read after remove", err, models.ErrResourceNotFound)

		// A row that cannot be decrypted is removed all the same.
		if _, err := fx.db.DesireLRP(fx.ctx, desiredFixture("corrupt", "cf-apps")); err != nil {
			t.Fatal(err)
		}
		fx.exec("UPDATE desired_lrps SET run_info = 'garbage' WHERE process_guid = 'corrupt'")
		removed, err = fx.db.RemoveDesiredLRP(fx.ctx, "corrupt")
		if err != nil || removed.ProcessGuid != "corrupt" || removed.Instances != 3 || removed.Action != nil {
			t.Fatalf("removed corrupt (%v) %v", err, removed)
		}
		if n := fx.count("desired_lrps", "1 = 1"); n != 0 {
			t.Fatalf("%d rows left", n)
		}
	})
}
