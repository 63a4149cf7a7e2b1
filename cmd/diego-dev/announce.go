package main

import (
	"fmt"
	"os"

	"github.com/diego-go/diego/internal/devcluster"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

// announce prints the summary once every daemon is up.
func announce(c *devcluster.Cluster) grouper.Member {
	return grouper.Member{Name: "announce", Runner: ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		fmt.Print(c.Summary())
		close(ready)
		<-signals
		return nil
	})}
}
