package handlers_test

import (
	"fmt"
	"testing"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/handlers"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// TestBulkListsStream: past the threshold the bulk lists stream, and the
// client reads the same lists as when they are held whole.
func TestBulkListsStream(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	for i := range 300 {
		guid := fmt.Sprintf("app-%03d", i)
		f.desire(guid, 1, models.DesiredLRP_ROLLING)
		f.running(guid, 0, instKey("ig-"+guid, "cell-1"))
	}
	list := func() ([]*models.ActualLRP, []*models.DesiredLRPSchedulingInfo) {
		t.Helper()
		lrps, err := f.c.ActualLRPs(f.ctx, bbsclient.ActualLRPFilter{})
		if err != nil {
			t.Fatal(err)
		}
		infos, err := f.c.DesiredLRPSchedulingInfos(f.ctx, bbsclient.DesiredLRPFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return lrps, infos
	}
	heldLRPs, heldInfos := list()
	defer handlers.SetStreamThreshold(1024)()
	streamedLRPs, streamedInfos := list()
	if len(heldLRPs) != 300 || len(heldInfos) != 300 || len(streamedLRPs) != 300 || len(streamedInfos) != 300 {
		t.Fatalf("held %d/%d, streamed %d/%d", len(heldLRPs), len(heldInfos), len(streamedLRPs), len(streamedInfos))
	}
	for i := range heldLRPs {
		if !proto.Equal(heldLRPs[i], streamedLRPs[i]) || !proto.Equal(heldInfos[i], streamedInfos[i]) {
			t.Fatalf("element %d differs", i)
		}
	}
}
