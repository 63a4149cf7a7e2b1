package cfdot

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// The comparison with the reference's own cfdot: with CFDOT_REFERENCE
// naming its binary, the golden and event tests also run it against a
// cluster seeded the same way and compare; with CFDOT_UPDATE_GOLDEN=1 as
// well, the golden files are rewritten from its output.
const (
	envReference    = "CFDOT_REFERENCE"
	envUpdateGolden = "CFDOT_UPDATE_GOLDEN"
)

// outcome is what one cfdot run left behind.
type outcome struct {
	Code   int
	Stdout string
	Stderr string
}

// runner runs one cfdot command line with the given environment.
type runner func(t *testing.T, env map[string]string, args ...string) outcome

// runOurs runs our cfdot in the test process.
func runOurs(_ *testing.T, env map[string]string, args ...string) outcome {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), Env{
		Args: args, Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
	})
	return outcome{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// referenceRunner runs the reference's binary.
func referenceRunner(path string) runner {
	return func(t *testing.T, env map[string]string, args ...string) outcome {
		t.Helper()
		cmd := exec.Command(path, args...)
		cmd.Env = envList(env)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("running %s: %v", path, err)
		}
		return outcome{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
	}
}

func envList(env map[string]string) []string {
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// cluster is a BBS and a locket in the test process, with stand-ins for
// the reps of four cells:
//
//	cell-1  z1  rep_url https, a full state
//	cell-2  z2  no rep_url, rep_address plain http, a minimal state
//	cell-3  z1  rep_url https on a port nobody listens on
//	cell-4  z2  rep_url https, answers 503
type cluster struct {
	api       *bbstest.API
	locket    *lockettest.Server
	dir       string
	bbsEnv    map[string]string
	locketEnv map[string]string
	// reps are the host:port of the rep stand-ins of cell-1 to cell-4.
	reps [4]string
	// placeholders replace addresses that change from run to run.
	placeholders []string
}

// fixedNow is the BBS's clock in the tests, so that timestamps repeat.
var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir()}
	c.api = bbstest.Start(t, bbstest.Options{Now: func() time.Time { return fixedNow }})
	c.locket = lockettest.Start(t, sqldb.Config{})

	// Reps present a certificate of their own CA; cfdot is given one CA
	// file holding both, as an operator's bundle would.
	repCA, err := certs.NewAuthority("rep stand-in CA")
	if err != nil {
		t.Fatal(err)
	}
	repPKI, err := repCA.WriteLeaf(filepath.Join(c.dir, "rep"), "rep", certs.LocalNames("rep"))
	if err != nil {
		t.Fatal(err)
	}
	bbsCA, err := os.ReadFile(c.api.PKI.Client.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(c.dir, "ca-bundle.crt")
	if err := os.WriteFile(bundle, append(bbsCA, repCA.CertPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	fullState, err := os.ReadFile("testdata/cell_state.json")
	if err != nil {
		t.Fatal(err)
	}
	rep1 := c.repStandIn(t, repPKI, true, http.StatusOK, string(fullState))
	rep2 := c.repStandIn(t, repPKI, false, http.StatusOK,
		`{"cell_id":"cell-2","Zone":"z2","TotalResources":{"MemoryMB":8000,"DiskMB":32000,"Containers":100},`+
			`"AvailableResources":{"MemoryMB":6000,"DiskMB":30000,"Containers":97},"RootFSProviders":null}`)
	rep3 := lockettest.FreeAddress(t)
	rep4 := c.repStandIn(t, repPKI, true, http.StatusServiceUnavailable, string(fullState))

	c.reps = [4]string{rep1, rep2, rep3, rep4}
	capacity := &models.CellCapacity{MemoryMb: 16000, DiskMb: 64000, Containers: 249}
	providers := []*models.Provider{{Name: "preloaded", Properties: []string{"cflinuxfs4@1.2.3"}}, {Name: "docker"}}
	for _, cell := range []*models.CellPresence{
		{CellId: "cell-1", Zone: "z1", RepAddress: "http://127.0.0.1:1800", RepUrl: "https://" + rep1, Capacity: capacity,
			RootfsProviders: providers, PlacementTags: []string{"tagA"}, OptionalPlacementTags: []string{"opt"}},
		{CellId: "cell-2", Zone: "z2", RepAddress: "http://" + rep2, Capacity: &models.CellCapacity{MemoryMb: 8000, DiskMb: 32000, Containers: 100}},
		{CellId: "cell-3", Zone: "z1", RepAddress: "http://127.0.0.1:1800", RepUrl: "https://" + rep3, Capacity: capacity, RootfsProviders: providers},
		{CellId: "cell-4", Zone: "z2", RepAddress: "http://127.0.0.1:1800", RepUrl: "https://" + rep4, Capacity: capacity},
	} {
		c.api.Cells.Set(cell)
	}
	c.placeholders = []string{
		strings.TrimPrefix(c.api.URL, "https://"), "{bbs}",
		c.locket.Address, "{locket}",
		rep1, "{rep1}", rep2, "{rep2}", rep3, "{rep3}", rep4, "{rep4}",
		c.dir, "{dir}",
	}
	c.bbsEnv = map[string]string{
		envBBSURL: c.api.URL, envCACertFile: bundle,
		envClientCertFile: c.api.PKI.Client.CertFile, envClientKeyFile: c.api.PKI.Client.KeyFile,
	}
	lp := c.locket.PKI.Client
	c.locketEnv = map[string]string{
		envLocketLocation: c.locket.Address, envCACertFile: lp.CAFile,
		envClientCertFile: lp.CertFile, envClientKeyFile: lp.KeyFile,
	}
	return c
}

// repStandIn serves GET /state with status and body, over mutual TLS
// (client certificates of the BBS's CA) or plain HTTP, and returns its
// host:port.
func (c *cluster) repStandIn(t *testing.T, pki certs.Paths, secure bool, status int, body string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	if !secure {
		srv.Start()
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	cert, err := tlsconfig.LoadKeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := tlsconfig.LoadCAPool(c.api.PKI.Client.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: clients, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// spec returns a testdata spec with its guid set.
func spec(t *testing.T, name, guid string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "__GUID__", guid)
}

func mustDecode[T any](t *testing.T, data string) *T {
	t.Helper()
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

// seedCtx carries the request id of the seeding requests, which events
// repeat as their trace id.
func seedCtx() context.Context {
	return bbsclient.WithRequestID(context.Background(), "seed-request")
}

// seed stores the data the golden tests read: two domains, a full and a
// minimal desired LRP with instances in every state and presence, tasks
// in every state, a lock and a cell presence.
func (c *cluster) seed(t *testing.T) {
	t.Helper()
	ctx := seedCtx()
	bbs := c.api.Client
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(bbs.UpsertDomain(ctx, "cf-apps", 0))
	check(bbs.UpsertDomain(ctx, "cf-tasks", time.Hour))
	check(bbs.DesireLRP(ctx, mustDecode[models.DesiredLRP](t, spec(t, "desired_lrp.json", "lrp-full"))))
	check(bbs.DesireLRP(ctx, mustDecode[models.DesiredLRP](t, `{"process_guid":"lrp-min","domain":"other",`+
		`"rootfs":"docker:///nginx","instances":1,"action":{"run":{"path":"/bin/true","user":"root"}},"memory_mb":64,"disk_mb":128,"metric_tags":{"source_id":{"static":"min"}}}`)))

	key0 := &models.ActualLRPKey{ProcessGuid: "lrp-full", Index: 0, Domain: "cf-apps"}
	check(bbs.ClaimActualLRP(ctx, key0, &models.ActualLRPInstanceKey{InstanceGuid: "ig-full-0", CellId: "cell-1"}))
	key1 := &models.ActualLRPKey{ProcessGuid: "lrp-full", Index: 1, Domain: "cf-apps"}
	ik1 := &models.ActualLRPInstanceKey{InstanceGuid: "ig-full-1", CellId: "cell-2"}
	net1 := &models.ActualLRPNetInfo{Address: "10.0.0.2", InstanceAddress: "10.255.0.2",
		PreferredAddress: models.ActualLRPNetInfo_INSTANCE,
		Ports:            []*models.PortMapping{{ContainerPort: 8080, HostPort: 61001, ContainerTlsProxyPort: 61443, HostTlsProxyPort: 61002}}}
	routable := true
	check(bbs.StartActualLRP(ctx, &models.StartActualLRPRequest{ActualLrpKey: key1, ActualLrpInstanceKey: ik1, ActualLrpNetInfo: net1,
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "web.apps.internal"}},
		MetricTags:              map[string]string{"app": "a"}, Routable: &routable, AvailabilityZone: "z2"}))
	_, err := bbs.EvacuateRunningActualLRP(ctx, &models.EvacuateRunningActualLRPRequest{ActualLrpKey: key1, ActualLrpInstanceKey: ik1,
		ActualLrpNetInfo: net1, MetricTags: map[string]string{"app": "a"}, Routable: &routable, AvailabilityZone: "z2"})
	check(err)
	check(bbs.FailActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "lrp-min", Index: 0, Domain: "other"}, "insufficient resources: memory"))

	for _, guid := range []string{"task-pending", "task-running", "task-done", "task-cancelled"} {
		task := mustDecode[models.Task](t, spec(t, "task.json", guid))
		check(bbs.DesireTask(ctx, task.GetTaskGuid(), task.GetDomain(), task.GetTaskDefinition()))
	}
	_, err = bbs.StartTask(ctx, "task-running", "cell-1")
	check(err)
	_, err = bbs.StartTask(ctx, "task-done", "cell-2")
	check(err)
	check(bbs.CompleteTask(ctx, "task-done", "cell-2", false, "", "the result"))
	check(bbs.CancelTask(ctx, "task-cancelled"))

	lc := c.locket.Dial()
	for _, r := range []*locketpb.Resource{
		{Key: "lock-a", Owner: "owner-a", Value: "value <a>", TypeCode: locketpb.TypeCode_LOCK},
		{Key: "cell-1", Owner: "rep-1", TypeCode: locketpb.TypeCode_PRESENCE,
			Value: `{"cell_id":"cell-1","rep_address":"http://127.0.0.1:1800","zone":"z1","capacity":{"memory_mb":16000,"disk_mb":64000,"containers":249}}`},
	} {
		_, err := lc.Lock(context.Background(), &locketpb.LockRequest{Resource: r, TtlInSeconds: 3600})
		check(err)
	}
}

// normalized is an outcome made comparable across runs and binaries:
// addresses replaced by placeholders, modification tag epochs hidden,
// JSON lines in canonical form (sorted keys) and sorted, and of stderr
// only the error message (from "Error:" to the usage).
type normalized struct {
	Code   int
	Lines  []string
	Errors string
	// Dropped counts the extraKeys left out, by key.
	Dropped map[string]int
}

// extraKeys are fields our cfdot prints (as the newest reference does)
// that the 2024 reference binary predates, so that it never prints them:
// CellPresence "annotations" (an object; SecurityGroupRule's annotations
// list is kept), DesiredLRP "update_strategy", "volume_mounted_files" of
// DesiredLRP, TaskDefinition and RunAction, and VolumeMount "dedicated".
// They are left out of both sides of a comparison.
var extraKeys = []string{"annotations", "update_strategy", "volume_mounted_files", "dedicated"}

func normalize(t *testing.T, o outcome, replacements []string) normalized {
	t.Helper()
	r := strings.NewReplacer(replacements...)
	n := normalized{Code: o.Code, Errors: errorMessage(r.Replace(o.Stderr)), Dropped: map[string]int{}}
	for _, line := range strings.Split(strings.TrimSpace(r.Replace(o.Stdout)), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		canonical, err := json.Marshal(scrub(v, n.Dropped))
		if err != nil {
			t.Fatal(err)
		}
		n.Lines = append(n.Lines, string(canonical))
	}
	sort.Strings(n.Lines)
	return n
}

// scrub hides epochs and drops extraKeys, in place, counting them.
func scrub(v any, dropped map[string]int) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			_, isList := e.([]any)
			switch {
			case k == "epoch":
				v[k] = "<epoch>"
			case contains(extraKeys, k) && !(k == "annotations" && isList):
				dropped[k]++
				delete(v, k)
			default:
				v[k] = scrub(e, dropped)
			}
		}
	case []any:
		for i := range v {
			v[i] = scrub(v[i], dropped)
		}
	}
	return v
}

// errorMessage is the error part of stderr: from the first "Error:" line
// to the usage.
func errorMessage(stderr string) string {
	i := strings.Index(stderr, "Error: ")
	if i < 0 {
		return ""
	}
	msg := stderr[i:]
	if j := strings.Index(msg, "\nUsage:\n"); j >= 0 {
		msg = msg[:j]
	}
	return strings.TrimRight(msg, "\n")
}
