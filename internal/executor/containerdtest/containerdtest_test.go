package containerdtest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerdtest"
)

func TestStartAnswersAndCleansUp(t *testing.T) {
	var dir string
	t.Run("daemon", func(t *testing.T) {
		d := containerdtest.Start(t)
		dir = d.Dir
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := d.Client(t).Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("containerd %s, snapshotter %s", v.Version, d.Snapshotter)
	})
	if dir == "" {
		return // skipped
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after the test: %v", dir, err)
	}
}
