// Command diego-dev starts a whole cluster on one machine: every daemon the
// project has, wired together with a private CA over loopback, on SQLite.
//
//	diego-dev [-dir .diego-dev] [-bin bin]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/devcluster"
	"github.com/diego-go/diego/internal/logging"
)

func main() {
	dir := flag.String("dir", ".diego-dev", "directory for certificates, configs, databases and logs")
	bin := flag.String("bin", "", "directory holding the daemons' binaries (default: next to diego-dev)")
	flag.Parse()

	binDir := *bin
	if binDir == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "diego-dev:", err)
			os.Exit(1)
		}
		binDir = filepath.Dir(self)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "diego-dev:", err)
		os.Exit(1)
	}
	cluster, err := devcluster.Prepare(abs, binDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "diego-dev:", err)
		os.Exit(1)
	}
	logger, _, err := logging.New("diego-dev", logging.DefaultConfig(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "diego-dev:", err)
		os.Exit(1)
	}
	members := append(cluster.Members(), announce(cluster))
	if err := daemon.Run(logger, members); err != nil {
		fmt.Fprintln(os.Stderr, "diego-dev:", err)
		os.Exit(1)
	}
}
