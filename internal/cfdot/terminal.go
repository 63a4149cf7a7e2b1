//go:build linux || darwin

package cfdot

import (
	"os"
	"syscall"
	"unsafe"
)

// StdoutTerminal reports whether os.Stdout is a terminal, and its width in
// columns when the system says (0 otherwise). It is Env.Terminal for the
// real process.
func StdoutTerminal() (bool, int) {
	fi, err := os.Stdout.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false, 0
	}
	return true, terminalWidth(os.Stdout.Fd())
}

// terminalWidth asks the terminal driver for the window size.
func terminalWidth(fd uintptr) int {
	var ws struct{ rows, cols, x, y uint16 }
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws))); errno != 0 {
		return 0
	}
	return int(ws.cols)
}
