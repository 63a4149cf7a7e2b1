package cfdot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
)

// starter starts a long-running cfdot command line and returns a function
// that waits for its end.
type starter func(t *testing.T, env map[string]string, args ...string) func() outcome

func startOurs(_ *testing.T, env map[string]string, args ...string) func() outcome {
	done := make(chan outcome, 1)
	go func() { done <- runOurs(nil, env, args...) }()
	return func() outcome { return <-done }
}

func referenceStarter(path string) starter {
	return func(t *testing.T, env map[string]string, args ...string) func() outcome {
		t.Helper()
		cmd := exec.Command(path, args...)
		cmd.Env = envList(env)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return func() outcome {
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return outcome{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
		}
	}
}

// eventCommands run together while the events are produced.
var eventCommands = [][]string{
	{"lrp-events"},
	{"lrp-events", "-x", "--cell-id", "cell-1"},
	{"task-events"},
}

// eventTranscript subscribes with every command of eventCommands, makes
// the BBS emit every kind of event, ends the streams and returns what the
// commands printed, normalized.
func eventTranscript(t *testing.T, start starter) string {
	t.Helper()
	c := startCluster(t)
	var waits []func() outcome
	for _, args := range eventCommands {
		waits = append(waits, start(t, c.bbsEnv, args...))
	}
	hubs := c.api.Hubs
	deadline := time.Now().Add(20 * time.Second)
	for hubs.Desired.SubscriberCount() < 3 || hubs.ActualInstance.SubscriberCount() < 2 ||
		hubs.ActualGroup.SubscriberCount() < 1 || hubs.Task.SubscriberCount() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the event commands did not subscribe in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	produceEvents(t, c)
	hubs.Close()
	var b strings.Builder
	for i, wait := range waits {
		n := normalize(t, wait(), c.placeholders)
		fmt.Fprintf(&b, "$ cfdot %s\nexit %d\n", strings.Join(eventCommands[i], " "), n.Code)
		for _, l := range n.Lines {
			b.WriteString(l + "\n")
		}
		if n.Errors != "" {
			b.WriteString("! " + n.Errors + "\n")
		}
	}
	return b.String()
}

// produceEvents walks an LRP and a task through their lives.
func produceEvents(t *testing.T, c *cluster) {
	t.Helper()
	ctx := bbsclient.WithRequestID(context.Background(), "event-request")
	bbs := c.api.Client
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(bbs.DesireLRP(ctx, mustDecode[models.DesiredLRP](t, `{"process_guid":"lrp-ev","domain":"cf-apps",`+
		`"rootfs":"docker:///x","instances":1,"action":{"run":{"path":"p","user":"u"}},"memory_mb":64,"disk_mb":64,`+
		`"metric_tags":{"a":{"static":"b"}},"routes":{"cf-router":[{"hostnames":["ev.example.com"],"port":8080}]}}`)))
	key := &models.ActualLRPKey{ProcessGuid: "lrp-ev", Index: 0, Domain: "cf-apps"}
	ik := &models.ActualLRPInstanceKey{InstanceGuid: "ig-ev", CellId: "cell-1"}
	check(bbs.ClaimActualLRP(ctx, key, ik))
	check(bbs.StartActualLRP(ctx, &models.StartActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik,
		ActualLrpNetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}},
			InstanceAddress: "10.255.0.1", PreferredAddress: models.ActualLRPNetInfo_HOST}, AvailabilityZone: "z1"}))
	check(bbs.CrashActualLRP(ctx, key, ik, "boom"))
	instances := int32(2)
	check(bbs.UpdateDesiredLRP(ctx, "lrp-ev", &models.DesiredLRPUpdate{Instances: &instances}))
	check(bbs.RemoveDesiredLRP(ctx, "lrp-ev"))

	task := mustDecode[models.Task](t, spec(t, "task.json", "task-ev"))
	check(bbs.DesireTask(ctx, task.GetTaskGuid(), task.GetDomain(), task.GetTaskDefinition()))
	_, err := bbs.StartTask(ctx, "task-ev", "cell-1")
	check(err)
	check(bbs.CompleteTask(ctx, "task-ev", "cell-1", true, "it failed", ""))
	check(bbs.ResolvingTask(ctx, "task-ev"))
	check(bbs.DeleteTask(ctx, "task-ev"))
}

// TestEvents compares what lrp-events and task-events print with the
// golden transcript of the reference's cfdot (see envReference).
func TestEvents(t *testing.T) {
	got := eventTranscript(t, startOurs)
	path := filepath.Join("testdata", "golden", "events.golden")
	if ref := os.Getenv(envReference); ref != "" {
		want := eventTranscript(t, referenceStarter(ref))
		if os.Getenv(envUpdateGolden) == "1" {
			writeSpec(t, path, want)
		}
		if got != want {
			t.Errorf("ours differs from the reference:\n%s", lineDiff(want, got))
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with %s=<reference cfdot> %s=1)", err, envReference, envUpdateGolden)
	}
	if got != string(golden) {
		t.Errorf("ours differs from %s:\n%s", path, lineDiff(string(golden), got))
	}
}
