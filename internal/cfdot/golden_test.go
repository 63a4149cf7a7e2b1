package cfdot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// goldenStep is one cfdot command line of a golden case, against the BBS
// or locket. In its arguments, {who} becomes a name proper to the binary
// under test (so that objects it creates are told apart), @LRP_SPEC and
// @TASK_SPEC the files of the testdata specs for {who}-lrp and {who}-task.
type goldenStep struct {
	conn string // "bbs" or "locket"
	args []string
}

type goldenCase struct {
	name  string
	steps []goldenStep
}

func bbsStep(args ...string) goldenStep    { return goldenStep{conn: "bbs", args: args} }
func locketStep(args ...string) goldenStep { return goldenStep{conn: "locket", args: args} }

func oneStep(name string, s goldenStep) goldenCase {
	return goldenCase{name: name, steps: []goldenStep{s}}
}

// goldenCases read the seeded data first, then change it; each case that
// changes something only lists what it changed afterwards, or lists it
// before another case changes the same kind of thing.
var goldenCases = []goldenCase{
	oneStep("actual-lrps", bbsStep("actual-lrps")),
	oneStep("actual-lrps-filtered", bbsStep("actual-lrps", "-d", "cf-apps", "-c", "cell-2", "-p", "lrp-full", "-i", "1")),
	oneStep("actual-lrps-index-0", bbsStep("actual-lrps", "--index", "0")),
	oneStep("actual-lrps-no-match", bbsStep("actual-lrps", "--domain", "nope")),
	oneStep("actual-lrp-groups", bbsStep("actual-lrp-groups")),
	oneStep("actual-lrp-groups-filtered", bbsStep("actual-lrp-groups", "-d", "other")),
	oneStep("actual-lrp-groups-for-guid", bbsStep("actual-lrp-groups-for-guid", "lrp-full")),
	oneStep("actual-lrp-groups-for-guid-index", bbsStep("actual-lrp-groups-for-guid", "lrp-full", "-i", "1")),
	oneStep("actual-lrp-groups-for-guid-missing", bbsStep("actual-lrp-groups-for-guid", "nope", "--index", "0")),
	oneStep("cells", bbsStep("cells")),
	oneStep("cell", bbsStep("cell", "cell-1")),
	oneStep("cell-not-found", bbsStep("cell", "nope")),
	oneStep("cell-state-https", bbsStep("cell-state", "cell-1")),
	oneStep("cell-state-http", bbsStep("cell-state", "cell-2")),
	oneStep("cell-state-unreachable", bbsStep("cell-state", "cell-3")),
	oneStep("cell-state-503", bbsStep("cell-state", "cell-4")),
	oneStep("cell-state-not-found", bbsStep("cell-state", "nope")),
	oneStep("cell-states", bbsStep("cell-states")),
	oneStep("desired-lrp", bbsStep("desired-lrp", "lrp-full")),
	oneStep("desired-lrp-missing", bbsStep("desired-lrp", "nope")),
	oneStep("desired-lrps", bbsStep("desired-lrps")),
	oneStep("desired-lrps-domain", bbsStep("desired-lrps", "-d", "other")),
	oneStep("desired-lrp-scheduling-infos", bbsStep("desired-lrp-scheduling-infos")),
	oneStep("desired-lrp-scheduling-infos-domain", bbsStep("desired-lrp-scheduling-infos", "--domain", "cf-apps")),
	oneStep("domains", bbsStep("domains")),
	oneStep("task", bbsStep("task", "task-pending")),
	oneStep("task-completed", bbsStep("task", "task-done")),
	oneStep("task-missing", bbsStep("task", "nope")),
	oneStep("tasks", bbsStep("tasks")),
	oneStep("tasks-filtered", bbsStep("tasks", "-d", "cf-tasks", "--cell-id", "cell-1")),
	oneStep("locks", locketStep("locks")),
	oneStep("presences", locketStep("presences")),
	{name: "desired-lrp-lifecycle", steps: []goldenStep{
		bbsStep("create-desired-lrp", "@LRP_SPEC"),
		bbsStep("create-desired-lrp", "@LRP_SPEC"),
		bbsStep("desired-lrp", "{who}-lrp"),
		bbsStep("actual-lrps", "-p", "{who}-lrp"),
		bbsStep("update-desired-lrp", "{who}-lrp", `{"instances":1,"annotation":"changed","routes":{"cf-router":[]},"metric_tags":{"x":{"static":"y"}}}`),
		bbsStep("desired-lrp", "{who}-lrp"),
		bbsStep("retire-actual-lrp", "{who}-lrp", "0"),
		bbsStep("actual-lrps", "-p", "{who}-lrp"),
		bbsStep("retire-actual-lrp", "{who}-lrp", "7"),
		bbsStep("delete-desired-lrp", "{who}-lrp"),
		bbsStep("desired-lrp", "{who}-lrp"),
		bbsStep("delete-desired-lrp", "{who}-lrp"),
		bbsStep("update-desired-lrp", "{who}-lrp", `{"instances":2}`),
		bbsStep("create-desired-lrp", `{"process_guid":"{who}-inline","domain":"d","rootfs":"docker:///x","instances":0,"action":{"run":{"path":"p","user":"u"}},"metric_tags":{"a":{"static":"b"}}}`),
		bbsStep("desired-lrp", "{who}-inline"),
		bbsStep("create-desired-lrp", `{"process_guid":"{who}-invalid"}`),
	}},
	{name: "task-lifecycle", steps: []goldenStep{
		bbsStep("create-task", "@TASK_SPEC"),
		bbsStep("create-task", "@TASK_SPEC"),
		bbsStep("task", "{who}-task"),
		bbsStep("delete-task", "{who}-task"),
		bbsStep("cancel-task", "{who}-task"),
		bbsStep("task", "{who}-task"),
		bbsStep("cancel-task", "{who}-task"),
		bbsStep("delete-task", "{who}-task"),
		bbsStep("task", "{who}-task"),
		bbsStep("cancel-task", "{who}-task"),
		bbsStep("create-task", `{"task_guid":"{who}-inline","domain":"d","rootfs":"docker:///x","action":{"run":{"path":"p","user":"u"}}}`),
		bbsStep("tasks", "-d", "d"),
		bbsStep("create-task", `{"task_guid":""}`),
	}},
	{name: "domain-lifecycle", steps: []goldenStep{
		bbsStep("set-domain", "{who}-dom", "--ttl", "90s"),
		bbsStep("set-domain", "{who}-forever"),
		bbsStep("set-domain", "{who}-zero", "-t", "0"),
		bbsStep("domains"),
	}},
	{name: "lock-lifecycle", steps: []goldenStep{
		locketStep("claim-lock", "-k", "{who}-lock", "-o", "o1", "-v", "v1", "-t", "30"),
		locketStep("claim-lock", "--key", "{who}-lock", "--owner", "o1", "--value", "v2", "--ttl", "30"),
		locketStep("claim-lock", "-k", "{who}-lock", "-o", "o2", "-t", "30"),
		locketStep("locks"),
		locketStep("claim-presence", "-k", "{who}-cell", "-o", "rep", "-v", `{"cell_id":"{who}-cell","zone":"z9"}`, "-t", "30"),
		locketStep("claim-presence", "-k", "{who}-lock", "-o", "o1", "-t", "30"),
		locketStep("presences"),
		locketStep("release-lock", "-k", "{who}-lock", "-o", "o2"),
		locketStep("release-lock", "-k", "{who}-lock", "-o", "o1"),
		locketStep("release-lock", "-k", "{who}-lock", "-o", "o1"),
		locketStep("locks"),
	}},
}

// newerFields are fields of the newest reference (left out of the
// comparison with the 2024 binary, see extraKeys) that some cases must
// print.
var newerFields = map[string][]string{
	"cells":       {"annotations"},
	"cell":        {"annotations"},
	"desired-lrp": {"update_strategy", "volume_mounted_files", "dedicated"},
	"task":        {"volume_mounted_files"},
}

// runCase runs the steps of gc with run against c and returns the
// normalized transcript.
func runCase(t *testing.T, c *cluster, run runner, who string, gc goldenCase) (string, map[string]int) {
	t.Helper()
	specs := map[string]string{
		"@LRP_SPEC":  filepath.Join(c.dir, who+"-lrp.json"),
		"@TASK_SPEC": filepath.Join(c.dir, who+"-task.json"),
	}
	writeSpec(t, specs["@LRP_SPEC"], spec(t, "desired_lrp.json", who+"-lrp"))
	writeSpec(t, specs["@TASK_SPEC"], spec(t, "task.json", who+"-task"))
	replacements := append([]string{who, "{who}"}, c.placeholders...)
	var b strings.Builder
	dropped := map[string]int{}
	for _, s := range gc.steps {
		args := make([]string, len(s.args))
		for i, a := range s.args {
			if file, ok := specs[a]; ok {
				a = "@" + file
			}
			args[i] = strings.ReplaceAll(a, "{who}", who)
		}
		env := c.bbsEnv
		if s.conn == "locket" {
			env = c.locketEnv
		}
		n := normalize(t, run(t, env, args...), replacements)
		for k, count := range n.Dropped {
			dropped[k] += count
		}
		fmt.Fprintf(&b, "$ cfdot %s\nexit %d\n", strings.Join(s.args, " "), n.Code)
		for _, l := range n.Lines {
			b.WriteString(l + "\n")
		}
		for _, l := range strings.Split(n.Errors, "\n") {
			if l != "" {
				b.WriteString("! " + l + "\n")
			}
		}
	}
	return b.String(), dropped
}

func writeSpec(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden runs every command against the seeded cluster and compares
// the JSON it prints, field by field (key order aside), its exit code and
// its error message with the golden files, which hold the reference's own
// output (see envReference).
func TestGolden(t *testing.T) {
	ref := os.Getenv(envReference)
	update := ref != "" && os.Getenv(envUpdateGolden) == "1"
	ours := startCluster(t)
	ours.seed(t)
	var theirs *cluster
	if ref != "" {
		theirs = startCluster(t)
		theirs.seed(t)
	}
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			got, dropped := runCase(t, ours, runOurs, "w0ours", gc)
			if want, ok := newerFields[gc.name]; ok {
				for _, k := range want {
					if dropped[k] == 0 {
						t.Errorf("ours did not print %q", k)
					}
				}
			}
			path := filepath.Join("testdata", "golden", gc.name+".golden")
			if ref != "" {
				want, theirsDropped := runCase(t, theirs, referenceRunner(ref), "w0ref", gc)
				if len(dropped) > 0 || len(theirsDropped) > 0 {
					t.Logf("fields the 2024 reference predates: ours printed %v, the reference %v", dropped, theirsDropped)
				}
				if update {
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
		})
	}
}

// lineDiff lists the lines only in want (-) and only in got (+); pairs of
// JSON lines are compared field by field.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	count := map[string]int{}
	for _, l := range w {
		count[l]++
	}
	for _, l := range g {
		count[l]--
	}
	var missing, extra []string
	for _, l := range w {
		if count[l] > 0 {
			missing = append(missing, l)
			count[l]--
		}
	}
	for _, l := range g {
		if count[l] < 0 {
			extra = append(extra, l)
			count[l]++
		}
	}
	var b strings.Builder
	for i := 0; i < len(missing) || i < len(extra); i++ {
		switch {
		case i < len(missing) && i < len(extra) && strings.HasPrefix(missing[i], "{") && strings.HasPrefix(extra[i], "{"):
			var a, c any
			_ = json.Unmarshal([]byte(missing[i]), &a)
			_ = json.Unmarshal([]byte(extra[i]), &c)
			b.WriteString("~ JSON line differs:\n")
			for _, d := range jsonDiff("", a, c) {
				b.WriteString("    " + d + "\n")
			}
		default:
			if i < len(missing) {
				b.WriteString("- " + missing[i] + "\n")
			}
			if i < len(extra) {
				b.WriteString("+ " + extra[i] + "\n")
			}
		}
	}
	return b.String()
}

// jsonDiff lists the paths at which two decoded JSON values differ.
func jsonDiff(path string, want, got any) []string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		var out []string
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, win := wm[k]
			gv, gin := gm[k]
			switch {
			case !win:
				out = append(out, fmt.Sprintf("%s.%s: only ours: %s", path, k, compact(gv)))
			case !gin:
				out = append(out, fmt.Sprintf("%s.%s: only theirs: %s", path, k, compact(wv)))
			default:
				out = append(out, jsonDiff(path+"."+k, wv, gv)...)
			}
		}
		return out
	}
	if compact(want) != compact(got) {
		return []string{fmt.Sprintf("%s: theirs %s, ours %s", path, compact(want), compact(got))}
	}
	return nil
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
