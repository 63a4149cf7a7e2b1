package cfdot

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// jsonLines writes one compact JSON document per line, HTML characters
// escaped, as encoding/json's Encoder does for the reference.
type jsonLines struct {
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{enc: json.NewEncoder(w)} }

func (j *jsonLines) write(v any) error {
	if err := j.enc.Encode(v); err != nil {
		return commandErr(err)
	}
	return nil
}

// writeLines writes every item as one JSON line.
func writeLines[T any](w io.Writer, items []T) error {
	out := newJSONLines(w)
	for _, item := range items {
		if err := out.write(item); err != nil {
			return err
		}
	}
	return nil
}

// readSpec returns a SPEC argument: the JSON itself, or the content of the
// file named after an '@'.
func readSpec(arg string) ([]byte, error) {
	name, isFile := strings.CutPrefix(arg, "@")
	if !isFile {
		return []byte(arg), nil
	}
	if _, err := os.Stat(name); err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}

// decodeSpec reads a SPEC argument into v; any failure is bad input.
func decodeSpec(arg string, v any) error {
	spec, err := readSpec(arg)
	if err != nil {
		return validationErr(err)
	}
	if err := json.Unmarshal(spec, v); err != nil {
		return validationf("Invalid JSON: %s", err.Error())
	}
	return nil
}

// noArgs rejects positional arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return validationf(msgExtraArguments)
	}
	return nil
}

// oneArg returns the single positional argument (which may be empty).
func oneArg(args []string) (string, error) {
	switch {
	case len(args) < 1:
		return "", validationf(msgMissingArguments)
	case len(args) > 1:
		return "", validationf(msgExtraArguments)
	}
	return args[0], nil
}

// processGuidArg returns the single, non-empty PROCESS_GUID argument.
func processGuidArg(args []string) (string, error) {
	guid, err := oneArg(args)
	if err != nil {
		return "", err
	}
	if guid == "" {
		return "", validationf(msgInvalidProcessGuid)
	}
	return guid, nil
}

// conflictingFlags rejects a flag given both by its short and its long
// name on the command line (`-d x --domain y`), for the commands of the
// reference that check it. Only the bare forms count, as there.
func conflictingFlags(env *Env, pairs ...[2]string) error {
	for _, p := range pairs {
		if contains(env.Args, p[0]) && contains(env.Args, p[1]) {
			return validationf("Only one of %s and %s should be passed", p[0], p[1])
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// printf writes a notice on w; write errors on stderr are ignored.
func printf(w io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
