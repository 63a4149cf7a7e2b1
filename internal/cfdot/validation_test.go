package cfdot

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/locket/lockettest"
)

// with returns a copy of env with the given key/value pairs set ("" unsets).
func with(env map[string]string, kv ...string) map[string]string {
	out := maps.Clone(env)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// TestValidation checks every rejection of bad input, its exit code and
// message, and that the usage follows bad input only.
func TestValidation(t *testing.T) {
	c := startCluster(t)
	bbs, locket := c.bbsEnv, c.locketEnv
	missing := "/nonexistent/file.pem"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string // the whole error message
	}{
		{"no BBS URL", with(bbs, envBBSURL, ""), []string{"domains"}, 3, msgMissingBBSURL},
		{"BBS URL not https (flag)", bbs, []string{"domains", "--bbsURL", "http://bbs:8889"}, 3,
			"The URL 'http://bbs:8889' does not have an 'https' scheme. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."},
		{"BBS URL not https (env)", with(bbs, envBBSURL, "bbs.example.com"), []string{"cells"}, 3,
			"The URL 'bbs.example.com' does not have an 'https' scheme. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."},
		{"BBS URL unparsable", with(bbs, envBBSURL, "://x"), []string{"domains"}, 3,
			"The value '://x' is not a valid BBS URL. Please specify one with the '--bbsURL' flag or the 'BBS_URL' environment variable."},
		{"bad SKIP_CERT_VERIFY", with(bbs, envSkipCertVerify, "maybe"), []string{"domains"}, 3,
			"The value 'maybe' is not a valid value for SKIP_CERT_VERIFY. Please specify one of the following valid boolean values: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False"},
		{"no CA", with(bbs, envCACertFile, ""), []string{"domains"}, 3, msgMissingCACert},
		{"unreadable CA", bbs, []string{"domains", "--caCertFile", missing}, 3,
			"CA cert file '" + missing + "' doesn't exist or is not readable: open " + missing + ": no such file or directory"},
		{"no client cert", with(bbs, envClientCertFile, ""), []string{"domains"}, 3, msgMissingClientPair},
		{"no client key, even skipping verification", with(bbs, envClientKeyFile, "", envSkipCertVerify, "true"), []string{"domains"}, 3, msgMissingClientPair},
		{"unreadable key", with(bbs, envClientKeyFile, missing), []string{"domains"}, 3,
			"key file '" + missing + "' doesn't exist or is not readable: open " + missing + ": no such file or directory"},
		{"unreadable cert", with(bbs, envClientCertFile, missing), []string{"domains"}, 3,
			"cert file '" + missing + "' doesn't exist or is not readable: open " + missing + ": no such file or directory"},
		{"no locket location", with(locket, envLocketLocation, ""), []string{"locks"}, 3, msgMissingLocket},
		{"locket command checks TLS", with(locket, envCACertFile, ""), []string{"presences"}, 3, msgMissingCACert},
		{"URL checked before TLS", with(bbs, envBBSURL, "", envCACertFile, ""), []string{"tasks"}, 3, msgMissingBBSURL},
		{"connection checked before arguments", with(bbs, envBBSURL, ""), []string{"cell"}, 3, msgMissingBBSURL},

		{"extra argument", bbs, []string{"domains", "x"}, 3, msgExtraArguments},
		{"cell without id", bbs, []string{"cell"}, 3, msgMissingArguments},
		{"cell with two ids", bbs, []string{"cell", "a", "b"}, 3, msgExtraArguments},
		{"cell-state without id", bbs, []string{"cell-state"}, 3, msgMissingArguments},
		{"cell-states with an argument", bbs, []string{"cell-states", "a"}, 3, msgExtraArguments},
		{"empty process guid", bbs, []string{"desired-lrp", ""}, 3, msgInvalidProcessGuid},
		{"desired-lrp without guid", bbs, []string{"desired-lrp"}, 3, msgMissingArguments},
		{"delete-desired-lrp two guids", bbs, []string{"delete-desired-lrp", "a", "b"}, 3, msgExtraArguments},
		{"task without guid", bbs, []string{"task"}, 3, msgMissingArguments},
		{"task with empty guid and more", bbs, []string{"task", "", "x"}, 3, msgMissingArguments},
		{"cancel-task two guids", bbs, []string{"cancel-task", "a", "b"}, 3, msgExtraArguments},
		{"delete-task empty guid", bbs, []string{"delete-task", ""}, 3, msgInvalidProcessGuid},
		{"retire without index", bbs, []string{"retire-actual-lrp", "p"}, 3, msgMissingArguments},
		{"retire with three arguments", bbs, []string{"retire-actual-lrp", "p", "1", "2"}, 3, msgExtraArguments},
		{"retire with empty guid", bbs, []string{"retire-actual-lrp", "", "1"}, 3, msgInvalidProcessGuid},
		{"retire with a bad index", bbs, []string{"retire-actual-lrp", "p", "1.5"}, 3, msgInvalidIndex},
		{"groups-for-guid without guid", bbs, []string{"actual-lrp-groups-for-guid"}, 3, msgMissingArguments},
		{"groups-for-guid negative index", bbs, []string{"actual-lrp-groups-for-guid", "p", "-i", "-3"}, 3, msgInvalidIndex},
		{"groups-for-guid bad index", bbs, []string{"actual-lrp-groups-for-guid", "p", "--index", "one"}, 3, msgInvalidIndex},
		{"actual-lrps bad index", bbs, []string{"actual-lrps", "-i", "x"}, 3,
			`invalid argument "x" for "-i, --index" flag: strconv.ParseInt: parsing "x": invalid syntax`},
		{"set-domain without domain", bbs, []string{"set-domain"}, 3, msgMissingArguments},
		{"set-domain empty domain", bbs, []string{"set-domain", ""}, 3, "No domain given"},
		{"set-domain negative ttl", bbs, []string{"set-domain", "d", "--ttl", "-5s"}, 3, "ttl is negative"},
		{"set-domain bad ttl", bbs, []string{"set-domain", "d", "-t", "soon"}, 3,
			`invalid argument "soon" for "-t, --ttl" flag: time: invalid duration "soon"`},
		{"create-desired-lrp without spec", bbs, []string{"create-desired-lrp"}, 3, "missing spec argument"},
		{"create-desired-lrp bad JSON", bbs, []string{"create-desired-lrp", "{bad"}, 3,
			"Invalid JSON: invalid character 'b' looking for beginning of object key string"},
		{"create-desired-lrp missing file", bbs, []string{"create-desired-lrp", "@" + missing}, 3,
			"stat " + missing + ": no such file or directory"},
		{"create-task two specs", bbs, []string{"create-task", "{}", "{}"}, 3, "missing spec argument"},
		{"create-task bad JSON", bbs, []string{"create-task", "[1]"}, 3,
			// The reference prints encoding/json's text for type errors
			// ("json: cannot unmarshal array into Go value of type models.Task").
			"Invalid JSON: models: cannot read a JSON array into models.Task"},
		{"update-desired-lrp without spec", bbs, []string{"update-desired-lrp", "p"}, 3, msgMissingArguments},
		{"update-desired-lrp bad JSON", bbs, []string{"update-desired-lrp", "p", "nope"}, 3,
			"Invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
		{"desired-lrps -d and --domain", bbs, []string{"desired-lrps", "-d", "a", "--domain", "b"}, 3, "Only one of -d and --domain should be passed"},
		{"scheduling infos -d and --domain", bbs, []string{"desired-lrp-scheduling-infos", "--domain", "a", "-d", "a"}, 3, "Only one of -d and --domain should be passed"},
		{"tasks -c and --cell-id", bbs, []string{"tasks", "-c", "a", "--cell-id", "b"}, 3, "Only one of -c and --cell-id should be passed"},
		{"claim-lock -k and --key", locket, []string{"claim-lock", "-k", "a", "--key", "b", "-o", "o", "-t", "1"}, 3, "Only one of -k and --key should be passed"},
		{"claim-presence -t and --ttl", locket, []string{"claim-presence", "-k", "a", "-o", "o", "-t", "1", "--ttl", "2"}, 3, "Only one of -t and --ttl should be passed"},
		{"release-lock -o and --owner", locket, []string{"release-lock", "-k", "a", "-o", "o", "--owner", "p"}, 3, "Only one of -o and --owner should be passed"},
		{"claim-lock without key", locket, []string{"claim-lock", "-o", "o", "-t", "1"}, 3, "key cannot be empty"},
		{"claim-lock without owner", locket, []string{"claim-lock", "-k", "k", "-t", "1"}, 3, "owner cannot be empty"},
		{"claim-lock without ttl", locket, []string{"claim-lock", "-k", "k", "-o", "o"}, 3, "ttl should be an integer greater than zero"},
		{"claim-presence extra argument", locket, []string{"claim-presence", "x"}, 3, msgExtraArguments},
		{"release-lock without owner", locket, []string{"release-lock", "-k", "k"}, 3, "owner cannot be empty"},
		{"help of an unknown command", bbs, []string{"help", "nope"}, 3, "'nope' is not a valid command"},
		{"distribution bad colour", bbs, []string{"distribution", "--color", "sometimes"}, 3, `--color must be auto, always or never, not "sometimes"`},
		{"distribution bad source", bbs, []string{"distribution", "--source", "rumour"}, 3, `--source must be auto or bbs, not "rumour"`},

		// What the command-line parser rejects without calling it bad input.
		{"unknown flag", bbs, []string{"domains", "--nope"}, 255, "unknown flag: --nope"},
		{"unknown command", bbs, []string{"nope"}, 255, "unknown command \"nope\" for \"cfdot\"\nRun 'cfdot --help' for usage."},
		{"no --timeout on event streams", bbs, []string{"lrp-events", "--timeout", "3"}, 255, "unknown flag: --timeout"},
		{"no --timeout on locket", locket, []string{"locks", "--timeout", "3"}, 255, "unknown flag: --timeout"},
		{"no cell filter on task-events", bbs, []string{"task-events", "-c", "x"}, 255, "unknown shorthand flag: 'c' in -c"},
		{"CFDOT_TIMEOUT not a number", with(bbs, envTimeout, "soon"), []string{"domains"}, 255, `strconv.ParseInt: parsing "soon": invalid syntax`},
		{"CFDOT_TIMEOUT too large", with(bbs, envTimeout, "40000"), []string{"domains"}, 255, `strconv.ParseInt: parsing "40000": value out of range`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := runOurs(t, tc.env, tc.args...)
			if o.Code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", o.Code, tc.code, o.Stderr)
			}
			if got := strings.TrimPrefix(errorMessage(o.Stderr), "Error: "); got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
			if o.Stdout != "" {
				t.Errorf("stdout %q, want nothing", o.Stdout)
			}
			unknownCommand := strings.HasPrefix(tc.msg, "unknown command")
			if hasUsage := strings.Contains(o.Stderr, "\nUsage:\n"); hasUsage == unknownCommand {
				t.Errorf("usage shown: %v, want %v", hasUsage, !unknownCommand)
			}
		})
	}
}

// TestPrecedence checks that a flag wins over its environment variable and
// that the environment fills what flags leave out.
func TestPrecedence(t *testing.T) {
	c := startCluster(t)
	bbs := c.bbsEnv
	ok := func(t *testing.T, env map[string]string, args ...string) {
		t.Helper()
		if o := runOurs(t, env, args...); o.Code != 0 {
			t.Fatalf("exit %d: %s", o.Code, o.Stderr)
		}
	}
	t.Run("--bbsURL over BBS_URL", func(t *testing.T) {
		ok(t, with(bbs, envBBSURL, "http://wrong"), "domains", "--bbsURL", c.api.URL)
	})
	t.Run("--caCertFile over CA_CERT_FILE", func(t *testing.T) {
		ok(t, with(bbs, envCACertFile, "/nonexistent"), "domains", "--caCertFile", bbs[envCACertFile])
	})
	t.Run("--clientCertFile and --clientKeyFile over the environment", func(t *testing.T) {
		ok(t, with(bbs, envClientCertFile, "/nonexistent", envClientKeyFile, "/nonexistent"), "domains",
			"--clientCertFile", bbs[envClientCertFile], "--clientKeyFile", bbs[envClientKeyFile])
	})
	t.Run("all from flags", func(t *testing.T) {
		ok(t, map[string]string{}, "domains", "--bbsURL", c.api.URL, "--caCertFile", bbs[envCACertFile],
			"--clientCertFile", bbs[envClientCertFile], "--clientKeyFile", bbs[envClientKeyFile])
	})
	t.Run("SKIP_CERT_VERIFY replaces the CA", func(t *testing.T) {
		ok(t, with(bbs, envCACertFile, "", envSkipCertVerify, "true"), "domains")
	})
	t.Run("--skipCertVerify=false over SKIP_CERT_VERIFY", func(t *testing.T) {
		o := runOurs(t, with(bbs, envCACertFile, "", envSkipCertVerify, "true"), "domains", "--skipCertVerify=false")
		if o.Code != 3 || !strings.Contains(o.Stderr, msgMissingCACert) {
			t.Fatalf("exit %d: %s", o.Code, o.Stderr)
		}
	})
	t.Run("--skipCertVerify verifies nothing", func(t *testing.T) {
		ok(t, with(bbs, envCACertFile, ""), "domains", "--skipCertVerify")
	})
	t.Run("--timeout over CFDOT_TIMEOUT", func(t *testing.T) {
		ok(t, with(bbs, envTimeout, "not-read"), "domains", "--timeout", "5")
	})
	t.Run("--locketAPILocation over LOCKET_API_LOCATION", func(t *testing.T) {
		ok(t, with(c.locketEnv, envLocketLocation, "127.0.0.1:1"), "locks", "--locketAPILocation", c.locket.Address)
	})
	t.Run("locket with --skipCertVerify", func(t *testing.T) {
		ok(t, with(c.locketEnv, envCACertFile, ""), "locks", "--skipCertVerify")
	})
}

// TestTimeouts checks that --timeout and CFDOT_TIMEOUT bound BBS requests
// and that a timeout is reported as a BBS Timeout error.
func TestTimeouts(t *testing.T) {
	c := startCluster(t)
	release := make(chan struct{})
	slow := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) })
	env := with(c.bbsEnv, envBBSURL, "https://"+slow, envCACertFile, "", envSkipCertVerify, "true")
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"flag": {env, []string{"domains", "--timeout", "1"}},
		"env":  {with(env, envTimeout, "1"), []string{"cells"}},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			o := runOurs(t, tc.env, tc.args...)
			if o.Code != 4 {
				t.Fatalf("exit %d: %s", o.Code, o.Stderr)
			}
			if !strings.Contains(o.Stderr, "Error: BBS error\nType 31: Timeout\nMessage: ") || !strings.Contains(o.Stderr, "Timeout exceeded") {
				t.Errorf("stderr %q", o.Stderr)
			}
			if strings.Contains(o.Stderr, "Usage:") {
				t.Errorf("usage after a BBS error: %q", o.Stderr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestUnreachable checks the exit codes of components that do not answer:
// 5 for the BBS (a transport error), 4 for locket.
func TestUnreachable(t *testing.T) {
	c := startCluster(t)
	closed := lockettest.FreeAddress(t)
	o := runOurs(t, with(c.bbsEnv, envBBSURL, "https://"+closed), "domains")
	if o.Code != 5 || !strings.Contains(o.Stderr, "connect: connection refused") || strings.Contains(o.Stderr, "Usage:") {
		t.Errorf("BBS: exit %d: %s", o.Code, o.Stderr)
	}
	// locket waits up to 10 s for a connection; the run's context cuts it short.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	env := with(c.locketEnv, envLocketLocation, closed)
	code := Run(ctx, Env{Args: []string{"locks"}, Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
	if code != 4 || errorMessage(stderr.String()) != "Error: context deadline exceeded" {
		t.Errorf("locket: exit %d: %s", code, stderr.String())
	}
}

// tlsServer serves h over TLS with httptest's certificate (to be reached
// with --skipCertVerify) and returns its host:port.
func tlsServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
