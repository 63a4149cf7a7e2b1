package bbsbench

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/diego-go/diego/internal/models"
)

// The simulated cluster: n desired LRPs of `instances` instances each, the
// instance (lrp, index) running on cell (lrp*instances+index) % cells. Every
// value is a function of (lrp, index), so that the seeding, the rep-like
// clients and the checks agree without sharing state, and a rep's
// heartbeat StartActualLRP carries exactly what is stored (a no-op).

// Domain is the domain of every seeded LRP (fresh, never expires).
const Domain = "cf-apps"

// Fleet is the shape of the simulated cluster.
type Fleet struct {
	LRPs, Instances, Cells int
	// BareActuals: the reps report no metric tags (older reps; current
	// ones send the ~11 resolved tags Cloud Controller sets, which the BBS
	// stores encrypted with every actual LRP).
	BareActuals bool
}

// Total is the number of actual LRPs.
func (f Fleet) Total() int { return f.LRPs * f.Instances }

// CellOf is the index of the cell running instance (lrp, index).
func (f Fleet) CellOf(lrp, index int) int { return (lrp*f.Instances + index) % f.Cells }

// CellID names cell c.
func CellID(c int) string { return fmt.Sprintf("cell-%04d", c) }

// appGUID is the Cloud Controller app guid of LRP i.
func appGUID(i int) string { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", i) }

// ProcessGUID is CC's form: <app guid>-<version guid> (73 characters).
func ProcessGUID(i int) string {
	return appGUID(i) + fmt.Sprintf("-b0000000-0000-4000-8000-%012d", i)
}

// InstanceGUID is the instance guid the rep chose for (lrp, index).
func InstanceGUID(lrp, index int) string {
	return fmt.Sprintf("c%07x-%04x-4000-8000-%012d", index, lrp%0xffff, lrp)
}

// cellAddress is cell c's IP address.
func cellAddress(c int) string { return fmt.Sprintf("10.%d.%d.%d", 1+c/65536, c/256%256, c%256) }

// InstanceKey is (instance guid, cell id) of (lrp, index).
func (f Fleet) InstanceKey(lrp, index int) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: InstanceGUID(lrp, index), CellId: CellID(f.CellOf(lrp, index))}
}

// ActualKey is (process guid, index, domain).
func ActualKey(lrp, index int) *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: ProcessGUID(lrp), Index: int32(index), Domain: Domain}
}

// NetInfo is the running instance's addresses: two mapped ports (app and
// ssh) on the cell, and the container's own address.
func (f Fleet) NetInfo(lrp, index int) *models.ActualLRPNetInfo {
	slot := uint32((lrp*f.Instances + index) / f.Cells % 250)
	return &models.ActualLRPNetInfo{
		Address:          cellAddress(f.CellOf(lrp, index)),
		Ports:            []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000 + 2*slot}, {ContainerPort: 2222, HostPort: 61001 + 2*slot}},
		InstanceAddress:  fmt.Sprintf("10.255.%d.%d", lrp/256%256, lrp%256),
		PreferredAddress: models.ActualLRPNetInfo_HOST,
	}
}

// Zone is the availability zone of cell c.
func Zone(c int) string { return fmt.Sprintf("z%d", c%3+1) }

// MetricTags are the desired LRP's metric tags, as Cloud Controller sets
// them: static identifiers and the two dynamic values.
func MetricTags(i int) map[string]*models.MetricTagValue {
	static := func(s string) *models.MetricTagValue { return &models.MetricTagValue{Static: s} }
	return map[string]*models.MetricTagValue{
		"source_id":           static(appGUID(i)),
		"app_id":              static(appGUID(i)),
		"app_name":            static(fmt.Sprintf("app-%d", i)),
		"space_id":            static(fmt.Sprintf("d0000000-0000-4000-8000-%012d", i/50)),
		"space_name":          static(fmt.Sprintf("space-%d", i/50)),
		"organization_id":     static(fmt.Sprintf("e0000000-0000-4000-8000-%012d", i/500)),
		"organization_name":   static(fmt.Sprintf("org-%d", i/500)),
		"process_id":          static(appGUID(i)),
		"process_type":        static("web"),
		"instance_id":         {Dynamic: models.MetricTagValue_INDEX},
		"process_instance_id": {Dynamic: models.MetricTagValue_INSTANCE_GUID},
	}
}

// StartRequest is the rep's StartActualLRP for (lrp, index): exactly what
// the seeded row holds, so that on a RUNNING row it changes nothing.
func (f Fleet) StartRequest(lrp, index int) *models.StartActualLRPRequest {
	routable := true
	req := &models.StartActualLRPRequest{
		ActualLrpKey:         ActualKey(lrp, index),
		ActualLrpInstanceKey: f.InstanceKey(lrp, index),
		ActualLrpNetInfo:     f.NetInfo(lrp, index),
		Routable:             &routable,
		AvailabilityZone:     Zone(f.CellOf(lrp, index)),
	}
	if !f.BareActuals {
		req.MetricTags = models.ResolveMetricTags(MetricTags(lrp), int32(index), InstanceGUID(lrp, index))
	}
	return req
}

// DesiredLRP is LRP i as Cloud Controller desires a buildpack app: routes
// (HTTP and SSH, with a per-app key), a download-and-run setup, the app and
// sshd under a codependent action, a port health check, environment,
// security groups and metric tags. About 5 KB encoded.
func (f Fleet) DesiredLRP(i int) *models.DesiredLRP {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	key := make([]byte, 640)
	for j := range key {
		key[j] = byte(rng.Uint32())
	}
	ssh, _ := json.Marshal(map[string]any{
		"container_port":   2222,
		"host_fingerprint": fmt.Sprintf("%x", key[:20]),
		"private_key":      "-----BEGIN RSA PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString(key) + "\n-----END RSA PRIVATE KEY-----\n",
	})
	http := fmt.Sprintf(`[{"hostnames":["app-%d.apps.example.com"],"port":8080,"route_service_url":null,"isolation_segment":null,"protocol":"http1","options":{}}]`, i)
	vcap := fmt.Sprintf(`{"application_id":%q,"application_name":"app-%d","application_uris":["app-%d.apps.example.com"],"cf_api":"https://api.example.com","limits":{"fds":16384},"name":"app-%d","organization_id":"e0000000-0000-4000-8000-%012d","organization_name":"org-%d","space_id":"d0000000-0000-4000-8000-%012d","space_name":"space-%d","uris":["app-%d.apps.example.com"],"users":null}`,
		appGUID(i), i, i, i, i/500, i/500, i/50, i/50, i)
	run := func(path string, args ...string) *models.Action {
		nofile := uint64(16384)
		return &models.Action{RunAction: &models.RunAction{Path: path, Args: args, User: "vcap", LogSource: "APP/PROC/WEB",
			ResourceLimits: &models.ResourceLimits{Nofile: &nofile}}}
	}
	return &models.DesiredLRP{
		ProcessGuid: ProcessGUID(i),
		Domain:      Domain,
		RootFs:      "preloaded:cflinuxfs4",
		Instances:   int32(f.Instances),
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "LANG", Value: "en_US.UTF-8"}, {Name: "VCAP_APPLICATION", Value: vcap},
			{Name: "VCAP_SERVICES", Value: "{}"}, {Name: "MEMORY_LIMIT", Value: "256m"}, {Name: "PORT", Value: "8080"},
		},
		Setup: &models.Action{SerialAction: &models.SerialAction{Actions: []*models.Action{
			{DownloadAction: &models.DownloadAction{From: fmt.Sprintf("http://cc-uploader.service.cf.internal:9090/v1/static/droplets/%s/download", appGUID(i)),
				To: ".", CacheKey: "droplets-" + ProcessGUID(i), User: "vcap", ChecksumAlgorithm: "sha256", ChecksumValue: fmt.Sprintf("%064x", i)}},
		}}},
		Action: &models.Action{CodependentAction: &models.CodependentAction{Actions: []*models.Action{
			run("/tmp/lifecycle/launcher", "app", "bundle exec rackup config.ru -p $PORT", `{"start_command":"bundle exec rackup config.ru -p $PORT"}`),
			run("/tmp/lifecycle/diego-sshd", "-address=0.0.0.0:2222", "-allowUnauthenticatedClients=false", "-inheritDaemonEnv=true"),
		}}},
		Monitor: &models.Action{TimeoutAction: &models.TimeoutAction{TimeoutMs: 600000, Action: &models.Action{ParallelAction: &models.ParallelAction{
			Actions: []*models.Action{run("/tmp/lifecycle/healthcheck", "-port=8080")},
		}}}},
		StartTimeoutMs: 60000,
		DiskMb:         1024,
		MemoryMb:       256,
		CpuWeight:      1,
		MaxPids:        1024,
		Ports:          []uint32{8080, 2222},
		Routes:         &models.ProtoRoutes{Routes: map[string][]byte{"cf-router": []byte(http), "diego-ssh": ssh, "tcp-router": []byte("[]")}},
		LogSource:      "CELL",
		LogGuid:        appGUID(i),
		MetricsGuid:    appGUID(i),
		Annotation:     fmt.Sprintf("%d.0", 1700000000+i),
		EgressRules: []*models.SecurityGroupRule{
			{Protocol: "all", Destinations: []string{"0.0.0.0-9.255.255.255", "11.0.0.0-169.253.255.255", "169.255.0.0-172.15.255.255", "172.32.0.0-192.167.255.255", "192.169.0.0-255.255.255.255"}},
			{Protocol: "tcp", Destinations: []string{"10.0.0.0/8"}, Ports: []uint32{3306, 5432}},
			{Protocol: "udp", Destinations: []string{"10.0.0.2"}, Ports: []uint32{53}},
		},
		CachedDependencies: []*models.CachedDependency{{Name: "App Lifecycle", From: "http://file-server.service.cf.internal:8080/v1/static/buildpack_app_lifecycle/buildpack_app_lifecycle.tgz",
			To: "/tmp/lifecycle", CacheKey: "buildpack-cflinuxfs4-lifecycle"}},
		LegacyDownloadUser:            "vcap",
		TrustedSystemCertificatesPath: "/etc/cf-system-certificates",
		Network:                       &models.Network{Properties: map[string]string{"policy_group_id": appGUID(i), "app_id": appGUID(i), "space_id": fmt.Sprintf("d0000000-0000-4000-8000-%012d", i/50), "org_id": fmt.Sprintf("e0000000-0000-4000-8000-%012d", i/500), "ports": "8080"}},
		CertificateProperties:         &models.CertificateProperties{OrganizationalUnit: []string{"organization:" + fmt.Sprintf("e0000000-0000-4000-8000-%012d", i/500), "space:" + fmt.Sprintf("d0000000-0000-4000-8000-%012d", i/50), "app:" + appGUID(i)}},
		CheckDefinition:               &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}, LogSource: "HEALTH/PROC/WEB"},
		LogRateLimit:                  &models.LogRateLimit{BytesPerSecond: -1},
		MetricTags:                    MetricTags(i),
	}
}

// cellPresence is the JSON CellPresence a rep registers in locket.
func cellPresence(c int) string {
	return fmt.Sprintf(`{"cell_id":%q,"rep_address":"http://%s:1800","zone":%q,"capacity":{"memory_mb":65536,"disk_mb":204800,"containers":250},"rootfs_provider_list":[{"name":"preloaded","properties":["cflinuxfs4"]},{"name":"preloaded+layer","properties":["cflinuxfs4"]},{"name":"docker"}],"rep_url":"https://%s.cell.service.cf.internal:1801"}`,
		CellID(c), cellAddress(c), Zone(c), CellID(c))
}
