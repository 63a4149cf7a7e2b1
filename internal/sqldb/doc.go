// Package sqldb is the one SQL layer of the daemons that keep state (locket,
// BBS): MySQL/MariaDB, PostgreSQL and SQLite behind a small API.
//
//   - Config carries the reference's database keys (database_driver,
//     database_connection_string, pool and timeout keys, DB TLS); embed it in a
//     daemon's JSON config. Open validates it, opens and pings.
//   - Callers write each query once, in the canonical dialect (MySQL's, with
//     `?` placeholders); DB and Tx rebind it for the flavor (Flavor.Rebind).
//     Flavor.Upsert and Flavor.InsertIgnore build the statements whose syntax
//     differs; CheckLength makes SQLite reject what the others reject.
//   - Driver errors are classified into a small vocabulary (ErrDuplicateKey,
//     ErrDeadlock, ErrDataTooLong, ErrUnrecoverable, ErrUnavailable,
//     ErrObjectExists) matched with errors.Is; the driver's error stays
//     wrapped.
//   - DB.Transact runs a callback in one transaction and re-runs it on
//     deadlocks and broken connections (3 attempts, 500 ms apart by default).
//   - Migrate applies versioned migrations exactly once, even with
//     concurrent starters.
//
// Tests get databases of every flavor from the sqltest subpackage.
package sqldb
