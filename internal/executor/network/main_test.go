package network

import (
	"os"
	"testing"

	"github.com/diego-go/diego/internal/executor/network/nettest"
)

// TestMain puts back what the CNI plugins change machine-wide (nettest.Main).
func TestMain(m *testing.M) { os.Exit(nettest.Main(m)) }
