// Command healthcheck checks an app from inside its container: a TCP
// connection to, or an HTTP GET of, a port on the container's own address,
// once or in startup, liveness, readiness or until-ready mode. The executor
// runs it as a sidecar process; its exit code and stderr are the verdict.
// Build it static (CGO_ENABLED=0): it runs in any container rootfs.
//
//	healthcheck -port=8080 [-uri=/health] [-timeout=1s] [-startup-interval=2s -startup-timeout=60s]
package main

import (
	"context"
	"os"

	"github.com/diego-go/diego/internal/executor/healthcheck"
)

func main() {
	cmd := healthcheck.Command{Stderr: os.Stderr, MapPort: mapPort()}
	os.Exit(cmd.Run(context.Background(), os.Args[0], os.Args[1:]))
}
