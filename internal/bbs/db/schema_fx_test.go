package db

import (
	"fmt"
	"sort"
	"strings"

	"github.com/diego-go/diego/internal/sqldb"
)

// describeSchema lists every column (table, position, name, type,
// nullability, default) and index of the database, one line each, sorted,
// so that two databases can be compared.
func (fx *storeFx) describeSchema() []string {
	fx.t.Helper()
	var colQuery, idxQuery string
	switch fx.sql.Flavor() {
	case sqldb.MySQL:
		colQuery = `SELECT table_name, ROW_NUMBER() OVER (PARTITION BY table_name ORDER BY ordinal_position), column_name, column_type, is_nullable, COALESCE(column_default, '<none>')
			FROM information_schema.columns WHERE table_schema = DATABASE()`
		idxQuery = `SELECT table_name, index_name, seq_in_index, column_name, non_unique
			FROM information_schema.statistics WHERE table_schema = DATABASE()`
	case sqldb.Postgres:
		colQuery = `SELECT table_name, ROW_NUMBER() OVER (PARTITION BY table_name ORDER BY ordinal_position), column_name,
				data_type || COALESCE('(' || character_maximum_length || ')', ''), is_nullable, COALESCE(column_default, '<none>')
			FROM information_schema.columns WHERE table_schema = current_schema()`
		idxQuery = `SELECT tablename, indexname, indexdef, 0, 0 FROM pg_indexes WHERE schemaname = current_schema()`
	default:
		colQuery = `SELECT m.name, p.cid, p.name, p.type, p."notnull", COALESCE(p.dflt_value, '<none>')
			FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
		idxQuery = `SELECT m.name, i.name, ii.seqno, ii.name, i."unique"
			FROM sqlite_master m, pragma_index_list(m.name) i, pragma_index_info(i.name) ii WHERE m.type = 'table'`
	}
	var out []string
	for _, q := range []string{colQuery, idxQuery} {
		rows, err := fx.sql.QueryContext(fx.ctx, q)
		if err != nil {
			fx.t.Fatalf("describing schema: %v", err)
		}
		for rows.Next() {
			var a, b, c, d, e, f any
			dest := []any{&a, &b, &c, &d, &e}
			if q == colQuery {
				dest = append(dest, &f)
			}
			if err := rows.Scan(dest...); err != nil {
				fx.t.Fatalf("describing schema: %v", err)
			}
			parts := make([]string, 0, len(dest))
			for _, v := range dest {
				parts = append(parts, describeValue(*(v.(*any))))
			}
			out = append(out, strings.Join(parts, " | "))
		}
		if err := rows.Close(); err != nil {
			fx.t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// schemaDiff returns the lines only in a and only in b.
func schemaDiff(a, b []string) (onlyA, onlyB []string) {
	inB := map[string]bool{}
	for _, l := range b {
		inB[l] = true
	}
	inA := map[string]bool{}
	for _, l := range a {
		inA[l] = true
		if !inB[l] {
			onlyA = append(onlyA, l)
		}
	}
	for _, l := range b {
		if !inA[l] {
			onlyB = append(onlyB, l)
		}
	}
	return onlyA, onlyB
}

func describeValue(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}
