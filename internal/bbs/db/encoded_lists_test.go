package db

import (
	"context"
	"fmt"
	"slices"
	"testing"

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
			enc, err := db.EncodedActualLRPs(ctx, f, 2)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			for _, p := range enc.Pieces {
				body = append(body, p...)
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
			if enc.Count != len(want) || !equalRows(resp.ActualLrps, want) {
				t.Fatalf("filter %+v: %d encoded (count %d), ActualLRPs gives %d", f, len(resp.ActualLrps), enc.Count, len(want))
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
		if _, err := db.EncodedActualLRPs(cancelled, ActualLRPFilter{}, 2); err == nil {
			t.Fatal("a cancelled list succeeded")
		}
	})
}
