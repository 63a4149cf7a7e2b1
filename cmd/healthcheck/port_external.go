//go:build external

package main

import (
	"os"

	"github.com/diego-go/diego/internal/executor/healthcheck"
)

// mapPort: the "external" build checks the host port that CF_INSTANCE_PORTS
// maps the given container port to.
func mapPort() func(string) string {
	return healthcheck.ExternalPort(os.Getenv("CF_INSTANCE_PORTS"))
}
