package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// readFixture is rows of two processes in two domains on three cells, every
// presence represented.
func readFixture() []*models.ActualLRP {
	at := func(guid string, index int32, domain string, l *models.ActualLRP) *models.ActualLRP {
		l.ActualLrpKey = &models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: domain}
		return l
	}
	return []*models.ActualLRP{
		at("p1", 0, "d1", row(sR, ik("a"))),
		at("p1", 0, "d1", row(sR, ik("b"), asEvacuating)),
		at("p1", 1, "d1", row(sU, nil)),
		at("p1", 1, "d1", row(sR, ik("c"), asSuspect)),
		at("p2", 0, "d2", row(sC, ik("a"))),
		at("p2", 1, "d2", row(sX, nil, crashes(3))),
	}
}

// ids names rows "guid/index/presence", sorted.
func ids(rows []*models.ActualLRP) string {
	out := make([]string, len(rows))
	for i, l := range rows {
		out[i] = fmt.Sprintf("%s/%d/%d", l.GetActualLrpKey().GetProcessGuid(), l.GetActualLrpKey().GetIndex(), l.GetPresence())
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestActualLRPReads(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		seedActualLRPs(t, db, readFixture()...)
		zero, one := int32(0), int32(1)
		filters := []struct {
			f    ActualLRPFilter
			want string
		}{
			{ActualLRPFilter{}, "p1/0/0 p1/0/1 p1/1/0 p1/1/2 p2/0/0 p2/1/0"},
			{ActualLRPFilter{Domain: "d2"}, "p2/0/0 p2/1/0"},
			{ActualLRPFilter{CellID: "cell-a"}, "p1/0/0 p2/0/0"},
			{ActualLRPFilter{ProcessGUID: "p1"}, "p1/0/0 p1/0/1 p1/1/0 p1/1/2"},
			{ActualLRPFilter{ProcessGUID: "p1", Index: &one}, "p1/1/0 p1/1/2"},
			{ActualLRPFilter{Index: &zero}, "p1/0/0 p1/0/1 p2/0/0"},
			{ActualLRPFilter{Domain: "d1", CellID: "cell-a", Index: &zero}, "p1/0/0"},
			{ActualLRPFilter{Domain: "nope"}, ""},
		}
		for _, c := range filters {
			got, err := db.ActualLRPs(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != c.want {
				t.Errorf("ActualLRPs(%+v) = %s, want %s", c.f, ids(got), c.want)
			}
			for _, l := range got {
				if l.Routable == nil || l.GetRoutable() != (l.State == sR) {
					t.Errorf("routable %v on a %s row", l.Routable, l.State)
				}
			}
		}

		byGUIDs := []struct {
			guids []string
			want  string
		}{
			{nil, ""},
			{[]string{}, ""},
			{[]string{"p2"}, "p2/0/0 p2/1/0"},
			{[]string{"p2", "p1", "p3"}, "p1/0/0 p1/0/1 p1/1/0 p1/1/2 p2/0/0 p2/1/0"},
		}
		many := make([]string, 2500)
		for i := range many {
			many[i] = fmt.Sprint("x", i)
		}
		many[1700], many[10] = "p1", "p2"
		byGUIDs = append(byGUIDs, struct {
			guids []string
			want  string
		}{many, "p1/0/0 p1/0/1 p1/1/0 p1/1/2 p2/0/0 p2/1/0"})
		for _, c := range byGUIDs {
			got, err := db.ActualLRPsByProcessGuids(ctx, c.guids)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != c.want {
				t.Errorf("ActualLRPsByProcessGuids(%d guids) = %s, want %s", len(c.guids), ids(got), c.want)
			}
		}

		s, err := db.ActualLRPSlot(ctx, "p1", 0)
		if err != nil || summary(s) != "ORDINARY:RUNNING:a EVACUATING:RUNNING:b" {
			t.Fatalf("slot = %s (%v)", summary(s), err)
		}
		if s, err := db.ActualLRPSlot(ctx, "p9", 0); err != nil || len(s) != 0 {
			t.Fatalf("empty slot = %v (%v)", s, err)
		}
	})
}

func TestActualLRPRoutableFromColumn(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		seedActualLRPs(t, db, readFixture()...)
		// Rows written before the routable column, or by hand, may hold NULL.
		if _, err := db.sql.ExecContext(ctx, "UPDATE actual_lrps SET routable = NULL WHERE process_guid = 'p2'"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.sql.ExecContext(ctx, "UPDATE actual_lrps SET routable = ? WHERE process_guid = 'p1' AND presence = 2", false); err != nil {
			t.Fatal(err)
		}
		got, err := db.ActualLRPs(ctx, ActualLRPFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range got {
			want := l.GetActualLrpKey().GetProcessGuid() == "p1" && l.State == sR && l.Presence != models.ActualLRP_SUSPECT
			if l.Routable == nil || *l.Routable != want {
				t.Errorf("%s: routable %v, want %v", ids([]*models.ActualLRP{l}), l.Routable, want)
			}
		}
	})
}

// corrupt damages one column of one row.
func corrupt(t *testing.T, db *DB, column, value, guid string, index int32, p models.ActualLRP_Presence) {
	t.Helper()
	if _, err := db.sql.ExecContext(context.Background(),
		"UPDATE actual_lrps SET "+column+" = ? WHERE process_guid = ? AND instance_index = ? AND presence = ?",
		value, guid, index, int32(p)); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM actual_lrps").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestActualLRPUndecodableRowsAreDeleted(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		seedActualLRPs(t, db, readFixture()...)
		badJSON, err := db.crypt.Encrypt([]byte("{not json"))
		if err != nil {
			t.Fatal(err)
		}
		corrupt(t, db, "net_info", "garbage", "p1", 0, models.ActualLRP_EVACUATING)
		corrupt(t, db, "internal_routes", string(badJSON), "p2", 1, models.ActualLRP_ORDINARY)
		corrupt(t, db, "metric_tags", "02AAAA", "p1", 1, models.ActualLRP_SUSPECT)

		got, err := db.ActualLRPs(ctx, ActualLRPFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != "p1/0/0 p1/1/0 p2/0/0" {
			t.Fatalf("read %s", ids(got))
		}
		if n := countRows(t, db); n != 3 {
			t.Fatalf("%d rows left, want the 3 readable ones", n)
		}

		// Inside a write: the unreadable ORDINARY row is deleted, and the
		// claim finds nothing.
		corrupt(t, db, "net_info", "02!!", "p2", 0, models.ActualLRP_ORDINARY)
		if _, err := db.ClaimActualLRP(ctx, "p2", 0, ik("a")); !errors.Is(err, models.ErrResourceNotFound) {
			t.Fatalf("claim of an unreadable row: %v", err)
		}
		if n := countRows(t, db); n != 2 {
			t.Fatalf("%d rows left after the write, want 2", n)
		}
	})
}
