package sqldb

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	cases := []struct {
		name, in, pg, sqlite string
	}{
		{
			name:   "placeholders",
			in:     "SELECT a FROM t WHERE b = ? AND c IN (?, ?)",
			pg:     "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)",
			sqlite: "SELECT a FROM t WHERE b = ? AND c IN (?, ?)",
		},
		{
			name:   "quoted question marks stay",
			in:     `SELECT '?', "a?b", ` + "`c?`" + `, 'it''s ?' FROM t WHERE x = ?`,
			pg:     `SELECT '?', "a?b", ` + "`c?`" + `, 'it''s ?' FROM t WHERE x = $1`,
			sqlite: `SELECT '?', "a?b", ` + "`c?`" + `, 'it''s ?' FROM t WHERE x = ?`,
		},
		{
			name:   "comments stay",
			in:     "SELECT 1 -- why?\nFROM t /* or ? */ WHERE x = ?",
			pg:     "SELECT 1 -- why?\nFROM t /* or ? */ WHERE x = $1",
			sqlite: "SELECT 1 -- why?\nFROM t /* or ? */ WHERE x = ?",
		},
		{
			name:   "E strings honour backslashes",
			in:     `SELECT E'a\'?' , ?`,
			pg:     `SELECT E'a\'?' , $1`,
			sqlite: `SELECT E'a\'?' , ?`,
		},
		{
			name:   "dollar quotes",
			in:     "SELECT $tag$ ? $tag$, $$?$$, ?",
			pg:     "SELECT $tag$ ? $tag$, $$?$$, $1",
			sqlite: "SELECT $tag$ ? $tag$, $$?$$, ?",
		},
		{
			name:   "for update",
			in:     "SELECT owner FROM locks WHERE path = ? LIMIT 1 FOR UPDATE",
			pg:     "SELECT owner FROM locks WHERE path = $1 LIMIT 1 FOR UPDATE",
			sqlite: "SELECT owner FROM locks WHERE path = ? LIMIT 1 ",
		},
		{
			name:   "for update lower case across lines",
			in:     "select 1 from t for\n  update",
			pg:     "select 1 from t for\n  update",
			sqlite: "select 1 from t ",
		},
		{
			name:   "a column named update is no clause",
			in:     "UPDATE t SET x = ? WHERE y = 'FOR UPDATE'",
			pg:     "UPDATE t SET x = $1 WHERE y = 'FOR UPDATE'",
			sqlite: "UPDATE t SET x = ? WHERE y = 'FOR UPDATE'",
		},
		{
			name:   "ddl types",
			in:     "CREATE TABLE IF NOT EXISTS t (id SERIAL PRIMARY KEY, a MEDIUMTEXT, b longtext, c BLOB, d LONGBLOB, e VARCHAR(255) DEFAULT 'BLOB')",
			pg:     "CREATE TABLE IF NOT EXISTS t (id SERIAL PRIMARY KEY, a TEXT, b TEXT, c BYTEA, d BYTEA, e VARCHAR(255) DEFAULT 'BLOB')",
			sqlite: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c BLOB, d BLOB, e VARCHAR(255) DEFAULT 'BLOB')",
		},
		{
			name:   "alter",
			in:     "  /* x */ ALTER TABLE t ADD COLUMN m MEDIUMTEXT",
			pg:     "  /* x */ ALTER TABLE t ADD COLUMN m TEXT",
			sqlite: "  /* x */ ALTER TABLE t ADD COLUMN m TEXT",
		},
		{
			name:   "types only in ddl",
			in:     "SELECT blob, serial FROM t WHERE mediumtext = ?",
			pg:     "SELECT blob, serial FROM t WHERE mediumtext = $1",
			sqlite: "SELECT blob, serial FROM t WHERE mediumtext = ?",
		},
		{
			name:   "unterminated quote is left alone",
			in:     "SELECT ? 'abc ?",
			pg:     "SELECT $1 'abc ?",
			sqlite: "SELECT ? 'abc ?",
		},
		{name: "empty", in: "", pg: "", sqlite: ""},
		{name: "only placeholder", in: "?", pg: "$1", sqlite: "?"},
		{name: "lone dollar", in: "$ ? $1", pg: "$ $1 $1", sqlite: "$ ? $1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MySQL.Rebind(c.in); got != c.in {
				t.Errorf("mysql: got %q, want it unchanged", got)
			}
			if got := Postgres.Rebind(c.in); got != c.pg {
				t.Errorf("postgres:\n got %q\nwant %q", got, c.pg)
			}
			if got := SQLite.Rebind(c.in); got != c.sqlite {
				t.Errorf("sqlite:\n got %q\nwant %q", got, c.sqlite)
			}
		})
	}
}

func TestRebindCache(t *testing.T) {
	c := &rebindCache{}
	q := "SELECT ? FROM t"
	for range 3 {
		if got := c.get(Postgres, q); got != "SELECT $1 FROM t" {
			t.Fatalf("got %q", got)
		}
	}
	if c.n.Load() != 1 {
		t.Fatalf("cached %d entries, want 1", c.n.Load())
	}
	if got := c.get(MySQL, q); got != q {
		t.Fatalf("mysql got %q", got)
	}
}

func TestUpsertAndInsertIgnore(t *testing.T) {
	cases := []struct {
		flavor               Flavor
		upsert, insertIgnore string
	}{
		{MySQL,
			"INSERT INTO locks (path, owner, ttl) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE owner = VALUES(owner), ttl = VALUES(ttl)",
			"INSERT INTO locks (path, owner) VALUES (?, ?) ON DUPLICATE KEY UPDATE path = path"},
		{Postgres,
			"INSERT INTO locks (path, owner, ttl) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET owner = excluded.owner, ttl = excluded.ttl",
			"INSERT INTO locks (path, owner) VALUES (?, ?) ON CONFLICT DO NOTHING"},
		{SQLite,
			"INSERT INTO locks (path, owner, ttl) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET owner = excluded.owner, ttl = excluded.ttl",
			"INSERT INTO locks (path, owner) VALUES (?, ?) ON CONFLICT DO NOTHING"},
	}
	for _, c := range cases {
		if got := c.flavor.Upsert("locks", []string{"path"}, []string{"owner", "ttl"}); got != c.upsert {
			t.Errorf("%s upsert:\n got %q\nwant %q", c.flavor, got, c.upsert)
		}
		if got := c.flavor.InsertIgnore("locks", "path", "owner"); got != c.insertIgnore {
			t.Errorf("%s insert-ignore:\n got %q\nwant %q", c.flavor, got, c.insertIgnore)
		}
		if got, want := c.flavor.Upsert("locks", []string{"path", "owner"}, nil), c.flavor.InsertIgnore("locks", "path", "owner"); got != want {
			t.Errorf("%s upsert without update columns: got %q, want %q", c.flavor, got, want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for n, want := range map[int]string{-1: "", 0: "", 1: "?", 3: "?, ?, ?"} {
		if got := Placeholders(n); got != want {
			t.Errorf("Placeholders(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheckLength(t *testing.T) {
	if err := CheckLength("owner", "héllo", 5); err != nil {
		t.Errorf("5 characters in 5: %v", err)
	}
	err := CheckLength("owner", "héllo!", 5)
	if !errors.Is(err, ErrDataTooLong) {
		t.Fatalf("6 characters in 5: got %v, want ErrDataTooLong", err)
	}
	if want := "sqldb: data too long: owner has 6 characters, at most 5 fit"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func FuzzRebind(f *testing.F) {
	for _, s := range []string{
		"SELECT ? FROM t WHERE a = '?' FOR UPDATE",
		"CREATE TABLE t (id SERIAL PRIMARY KEY, b BLOB)",
		"$a$ ? $a$ E'\\'' \"?\" `?` -- ?\n /* ? */ ?",
		"'", "$", "$$", "/*", "--", "E'", "?\x00?",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if MySQL.Rebind(q) != q {
			t.Fatal("mysql changed the query")
		}
		_ = SQLite.Rebind(q)
		var joined strings.Builder
		placeholders := 0
		for _, tk := range tokenize(q) {
			joined.WriteString(tk.text)
			if tk.kind == tokPlaceholder {
				placeholders++
			}
		}
		if joined.String() != q {
			t.Fatalf("tokens do not add up to the query: %q", joined.String())
		}
		pg := Postgres.Rebind(q)
		if placeholders > 0 && !strings.Contains(pg, "$"+strconv.Itoa(placeholders)) {
			t.Fatalf("%d placeholders but no $%d in %q", placeholders, placeholders, pg)
		}
	})
}
