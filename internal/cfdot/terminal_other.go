//go:build !(linux || darwin)

package cfdot

import "os"

// StdoutTerminal reports whether os.Stdout is a terminal; the width is not
// known on this system.
func StdoutTerminal() (bool, int) {
	fi, err := os.Stdout.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0, 0
}
