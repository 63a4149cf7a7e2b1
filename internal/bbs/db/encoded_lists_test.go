package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// TestEncodedActualLRPs: the encoded list decodes to what ActualLRPs
// returns, over several chunks, with an unreadable row left out and
// deleted, and filters applied.
func TestEncodedActualLRPs(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		const n = 3*encodeChunkRows + 17
		var rows []*models.ActualLRP
		for i := range n {
			lrp := &models.ActualLRP{
				ActualLrpKey:         &models.ActualLRPKey{ProcessGuid: fmt.Sprintf("pg-%04d", i), Index: int32(i % 3), Domain: "d"},
				ActualLrpInstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: fmt.Sprintf("ig-%d", i), CellId: fmt.Sprintf("cell-%d", i%4)},
				ActualLrpNetInfo:     &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: uint32(60000 + i%1000)}}},
				State:                models.ActualLRPStateRunning, Since: int64(i), ModificationTag: &models.ModificationTag{Epoch: "e", Index: 1},
				MetricTags:              map[string]string{"app_id": "a", "index": fmt.Sprint(i % 3), "esc": "tab\there"},
				ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "h.apps.internal"}},
			}
			rows = append(rows, lrp)
		}
		seedActualLRPs(t, db, rows...)
		// One unreadable row in the middle of the second chunk.
		if _, err := db.sql.ExecContext(ctx, "UPDATE actual_lrps SET metric_tags = ? WHERE process_guid = ?", []byte("not encrypted"), "pg-0300"); err != nil {
			t.Fatal(err)
		}

		for _, f := range []ActualLRPFilter{{}, {CellID: "cell-1"}, {Domain: "d", ProcessGUID: "pg-0001"}, {CellID: "none"}} {
			var body []byte
			count, err := db.EncodedActualLRPs(ctx, f, 2, func(p []byte) error {
				body = append(body, p...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			resp := &models.ActualLRPsResponse{}
			if err := proto.Unmarshal(body, resp); err != nil {
				t.Fatal(err)
			}
			want, err := db.ActualLRPs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			models.FillNonNullable(&models.ActualLRPsResponse{ActualLrps: want})
			if count != len(want) || !equalRows(resp.ActualLrps, want) {
				t.Fatalf("filter %+v: %d encoded (count %d), ActualLRPs gives %d", f, len(resp.ActualLrps), count, len(want))
			}
			if f == (ActualLRPFilter{}) && len(want) != n-1 {
				t.Fatalf("%d rows listed, want %d", len(want), n-1)
			}
			if slices.ContainsFunc(resp.ActualLrps, func(l *models.ActualLRP) bool { return l.GetActualLrpKey().GetProcessGuid() == "pg-0300" }) {
				t.Fatal("the unreadable row was listed")
			}
		}
		var left int
		if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM actual_lrps WHERE process_guid = ?", "pg-0300").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatal("the unreadable row was not deleted")
		}

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		discard := func([]byte) error { return nil }
		if _, err := db.EncodedActualLRPs(cancelled, ActualLRPFilter{}, 2, discard); err == nil {
			t.Fatal("a cancelled list succeeded")
		}

		// A sink that fails stops the list with its error, and a slow
		// sink holds the reading back without losing order.
		boom := errors.New("client gone")
		pieces := 0
		if _, err := db.EncodedActualLRPs(ctx, ActualLRPFilter{}, 2, func([]byte) error {
			if pieces++; pieces == 2 {
				return boom
			}
			return nil
		}); err == nil || !strings.Contains(err.Error(), boom.Error()) {
			t.Fatalf("a failing sink: %v", err)
		}
		var slow []byte
		if _, err := db.EncodedActualLRPs(ctx, ActualLRPFilter{}, 2, func(p []byte) error {
			time.Sleep(5 * time.Millisecond)
			slow = append(slow, p...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		resp := &models.ActualLRPsResponse{}
		if err := proto.Unmarshal(slow, resp); err != nil || len(resp.ActualLrps) != n-1 {
			t.Fatalf("slow sink: %d rows, %v", len(resp.ActualLrps), err)
		}
		for i := 1; i < len(resp.ActualLrps); i++ {
			if resp.ActualLrps[i-1].GetActualLrpKey().GetProcessGuid() > resp.ActualLrps[i].GetActualLrpKey().GetProcessGuid() {
				t.Fatalf("slow sink: out of order at %d", i)
			}
		}
	})
}
