package sqldb

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rebind translates a query written in the canonical dialect into this
// flavor's. The canonical dialect is MySQL's, restricted to what all three
// flavors understand after these rewrites:
//
//   - `?` placeholders; PostgreSQL gets `$1..$n`. Question marks inside
//     quoted strings, quoted identifiers and comments are left alone (so
//     PostgreSQL's jsonb `?` operators cannot be written; use functions).
//   - `... FOR UPDATE` row locks; SQLite, which has none, loses the clause:
//     its transactions take the database write lock up front instead.
//   - In CREATE and ALTER statements, the type names TINYTEXT, MEDIUMTEXT and
//     LONGTEXT become TEXT, and TINYBLOB, BLOB, MEDIUMBLOB and LONGBLOB become
//     BYTEA on PostgreSQL (BLOB on SQLite); SERIAL becomes INTEGER on SQLite
//     so that `id SERIAL PRIMARY KEY` auto-increments everywhere. These words
//     are therefore not usable as column names in canonical DDL.
//
// Everything else (VARCHAR(n), TEXT, INT, BIGINT, BOOL, CREATE TABLE IF NOT
// EXISTS, CREATE INDEX, LIMIT) is common to the three and passes through.
// MySQL queries are returned unchanged.
func (f Flavor) Rebind(query string) string {
	if f != Postgres && f != SQLite {
		return query
	}
	toks := tokenize(query)
	ddl := isDDL(toks)
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokPlaceholder:
			if f == Postgres {
				n++
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
				continue
			}
		case tokWord:
			if f == SQLite && strings.EqualFold(t.text, "FOR") {
				if j := nextSignificant(toks, i+1); j > 0 && toks[j].kind == tokWord && strings.EqualFold(toks[j].text, "UPDATE") {
					i = j
					continue
				}
			}
			if ddl {
				if r, ok := ddlTypes[f][strings.ToUpper(t.text)]; ok {
					b.WriteString(r)
					continue
				}
			}
		}
		b.WriteString(t.text)
	}
	return b.String()
}

var ddlTypes = map[Flavor]map[string]string{
	Postgres: {
		"TINYTEXT": "TEXT", "MEDIUMTEXT": "TEXT", "LONGTEXT": "TEXT",
		"TINYBLOB": "BYTEA", "BLOB": "BYTEA", "MEDIUMBLOB": "BYTEA", "LONGBLOB": "BYTEA",
	},
	SQLite: {
		"TINYTEXT": "TEXT", "MEDIUMTEXT": "TEXT", "LONGTEXT": "TEXT",
		"TINYBLOB": "BLOB", "MEDIUMBLOB": "BLOB", "LONGBLOB": "BLOB",
		"SERIAL": "INTEGER",
	},
}

// Upsert returns a canonical statement inserting one row of keyCols followed
// by updateCols (bind the values in that order), or, when a row with the same
// keyCols exists, updating its updateCols. keyCols must be the primary key or
// a unique index. Table and column names are pasted as they are: pass
// constants, never input. RowsAffected differs between flavors (MySQL counts
// an update as 2): do not rely on it.
func (f Flavor) Upsert(table string, keyCols, updateCols []string) string {
	if len(updateCols) == 0 {
		return f.InsertIgnore(table, keyCols...)
	}
	var b strings.Builder
	writeInsert(&b, table, append(append([]string(nil), keyCols...), updateCols...))
	if f == MySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
		for i, c := range updateCols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s = VALUES(%s)", c, c)
		}
		return b.String()
	}
	b.WriteString(" ON CONFLICT (")
	b.WriteString(strings.Join(keyCols, ", "))
	b.WriteString(") DO UPDATE SET ")
	for i, c := range updateCols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = excluded.%s", c, c)
	}
	return b.String()
}

// InsertIgnore returns a canonical statement inserting one row of cols unless
// it collides with an existing row on the primary key or a unique index;
// RowsAffected is 1 when the row was inserted and 0 when it was not, on
// every flavor. Unlike MySQL's INSERT IGNORE it does not swallow other errors
// (too long values, NOT NULL violations). Names are pasted as they are.
func (f Flavor) InsertIgnore(table string, cols ...string) string {
	var b strings.Builder
	writeInsert(&b, table, cols)
	if f == MySQL {
		if len(cols) > 0 {
			fmt.Fprintf(&b, " ON DUPLICATE KEY UPDATE %s = %s", cols[0], cols[0])
		}
		return b.String()
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	return b.String()
}

func writeInsert(b *strings.Builder, table string, cols []string) {
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES (")
	b.WriteString(Placeholders(len(cols)))
	b.WriteString(")")
}

// Placeholders returns n canonical placeholders separated by commas, for
// `IN (...)` lists and VALUES: Placeholders(3) == "?, ?, ?".
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// CheckLength returns an error matching ErrDataTooLong when value has more
// than max characters. MySQL and PostgreSQL reject such values for a
// VARCHAR(max) column by themselves; SQLite stores them. Call it before
// writing when all flavors must behave alike.
func CheckLength(column, value string, max int) error {
	if n := utf8.RuneCountInString(value); n > max {
		return fmt.Errorf("%w: %s has %d characters, at most %d fit", ErrDataTooLong, column, n, max)
	}
	return nil
}

type tokKind int

const (
	tokOther       tokKind = iota // punctuation, numbers, operators
	tokSpace                      // white space and comments
	tokWord                       // keywords and bare identifiers
	tokQuoted                     // string literals and quoted identifiers
	tokPlaceholder                // ?
)

type token struct {
	kind tokKind
	text string
}

// tokenize splits q into tokens; concatenating their texts gives q back.
// Unterminated quotes and comments run to the end of q.
func tokenize(q string) []token {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		start := i
		kind := tokOther
		switch {
		case c == '?':
			kind, i = tokPlaceholder, i+1
		case isSpace(c):
			kind = tokSpace
			for i < len(q) && isSpace(q[i]) {
				i++
			}
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			kind = tokSpace
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			kind = tokSpace
			if j := strings.Index(q[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(q)
			}
		case c == '\'':
			// E'...' strings (the E is the previous word token) honour backslashes.
			escapes := len(toks) > 0 && toks[len(toks)-1].kind == tokWord &&
				strings.EqualFold(toks[len(toks)-1].text, "E")
			kind, i = tokQuoted, endQuote(q, i, '\'', escapes)
		case c == '"' || c == '`':
			kind, i = tokQuoted, endQuote(q, i, c, false)
		case c == '$':
			if end := endDollarQuote(q, i); end > i {
				kind, i = tokQuoted, end
			} else {
				i++
			}
		case isWordStart(c):
			kind = tokWord
			for i < len(q) && isWordPart(q[i]) {
				i++
			}
		default:
			i++
		}
		toks = append(toks, token{kind: kind, text: q[start:i]})
	}
	return toks
}

// endQuote returns the index just past the quote opened at q[i]. A doubled
// quote character stands for itself.
func endQuote(q string, i int, quote byte, backslashEscapes bool) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if backslashEscapes {
				j++
			}
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

// endDollarQuote returns the index past a PostgreSQL $tag$...$tag$ string
// opening at q[i], or i when q[i] does not open one ($1 is no quote).
func endDollarQuote(q string, i int) int {
	j := i + 1
	if j < len(q) && isWordStart(q[j]) {
		for j < len(q) && (isWordStart(q[j]) || q[j] >= '0' && q[j] <= '9') {
			j++
		}
	}
	if j >= len(q) || q[j] != '$' {
		return i
	}
	tag := q[i : j+1]
	if k := strings.Index(q[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(q)
}

func isDDL(toks []token) bool {
	j := nextSignificant(toks, 0)
	if j < 0 || toks[j].kind != tokWord {
		return false
	}
	return strings.EqualFold(toks[j].text, "CREATE") || strings.EqualFold(toks[j].text, "ALTER")
}

// nextSignificant returns the index of the first non-space token at or after
// i, or -1.
func nextSignificant(toks []token, i int) int {
	for ; i < len(toks); i++ {
		if toks[i].kind != tokSpace {
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isWordPart(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }
