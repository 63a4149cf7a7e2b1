package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// Key rotation (§6.4). configurations.encryption_key_label names the key
// every encrypted column was last written with. At start, after the
// migrations, the BBS checks that this key is still configured (it could
// not read the rows otherwise) and, when it is not the active key, seals
// every encrypted value again with the active key, one row-locked
// transaction per row, and then records the active label.

// ErrUnknownEncryptionKey: the stored label names a key that is not
// configured.
var ErrUnknownEncryptionKey = errors.New("unknown encryption key")

// EncryptionReport says what RotateEncryptionKey did.
type EncryptionReport struct {
	PreviousLabel string // the stored label, "" when there was none
	ActiveLabel   string
	Rotated       bool          // the rows were sealed again
	Rows          int           // rows rewritten
	Duration      time.Duration // time spent re-encrypting (EncryptionDuration)
}

// EncryptionKeyLabel returns the stored key label, ResourceNotFound when
// there is none.
func (db *DB) EncryptionKeyLabel(ctx context.Context) (string, error) {
	var label sql.NullString
	err := db.sql.QueryRowContext(ctx, "SELECT value FROM configurations WHERE id = ?", encryptionKeyLabelID).Scan(&label)
	if err != nil {
		return "", convertError(err)
	}
	return label.String, nil
}

// SetEncryptionKeyLabel stores the key label.
func (db *DB) SetEncryptionKeyLabel(ctx context.Context, label string) error {
	return db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		return setConfiguration(ctx, tx, encryptionKeyLabelID, label)
	})
}

// CheckEncryptionKeyLabel returns the stored label (found is false when
// there is none) and fails with ErrUnknownEncryptionKey, in the
// reference's words, when it names a key that is not configured: the BBS
// must not start then.
func (db *DB) CheckEncryptionKeyLabel(ctx context.Context) (label string, found bool, err error) {
	label, err = db.EncryptionKeyLabel(ctx)
	switch {
	case errors.Is(err, models.ErrResourceNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case !db.crypt.HasKey(label):
		return label, true, fmt.Errorf("%w: Existing encryption key version (%s) is not among the known keys", ErrUnknownEncryptionKey, label)
	}
	return label, true, nil
}

// RotateEncryptionKey checks the stored label and, unless it is already
// the active one, re-encrypts every row and then stores the active label.
// When re-encryption fails the label is left as it was, so that the next
// start tries again.
func (db *DB) RotateEncryptionKey(ctx context.Context) (EncryptionReport, error) {
	report := EncryptionReport{ActiveLabel: db.crypt.ActiveLabel()}
	stored, found, err := db.CheckEncryptionKeyLabel(ctx)
	if err != nil {
		return report, err
	}
	report.PreviousLabel = stored
	if found && stored == report.ActiveLabel {
		return report, nil
	}
	logger := db.logger.Session("encryptor", lager.Data{"desired-key-label": report.ActiveLabel, "existing-key-label": stored})
	logger.Info("encryption-started")
	start := time.Now()
	report.Rows, err = db.PerformEncryption(ctx)
	report.Duration = time.Since(start)
	if err != nil {
		logger.Error("encryption-failed", err)
		return report, err
	}
	if err := db.SetEncryptionKeyLabel(ctx, report.ActiveLabel); err != nil {
		return report, err
	}
	report.Rotated = true
	logger.Info("encryption-finished", lager.Data{"total_time": report.Duration.String(), "rows": report.Rows})
	return report, nil
}

// encryptedTable lists the encrypted columns of a table.
type encryptedTable struct {
	name    string
	pk      []string
	pkDest  func() []any
	columns []string
	// skipEmpty: a row with an empty column is left alone entirely (actual
	// LRPs); otherwise only the empty column is.
	skipEmpty bool
}

var encryptedTables = []encryptedTable{
	{name: tasksTable, pk: []string{"guid"}, pkDest: func() []any { return []any{new(string)} },
		columns: []string{"task_definition"}},
	{name: desiredLRPsTable, pk: []string{"process_guid"}, pkDest: func() []any { return []any{new(string)} },
		columns: []string{"run_info", "volume_placement", "routes", "metric_tags"}},
	{name: "actual_lrps", pk: []string{"process_guid", "instance_index", "presence"},
		pkDest:  func() []any { return []any{new(string), new(int32), new(int32)} },
		columns: []string{"net_info", "internal_routes", "metric_tags"}, skipEmpty: true},
}

// PerformEncryption seals every encrypted value that is not sealed with
// the active key again with it, the three tables side by side, and
// returns how many rows it rewrote. Values it cannot decrypt are logged
// and their row left alone, as the reference does.
func (db *DB) PerformEncryption(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	counts := make([]int, len(encryptedTables))
	errs := make([]error, len(encryptedTables))
	for i, t := range encryptedTables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = db.reEncryptTable(ctx, t)
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	return total, errors.Join(errs...)
}

func (db *DB) reEncryptTable(ctx context.Context, t encryptedTable) (int, error) {
	logger := db.logger.Session("re-encrypt", lager.Data{"table_name": t.name})
	var keys [][]any
	err := eachRow(ctx, db.sql, "SELECT "+strings.Join(t.pk, ", ")+" FROM "+t.name, func(scan func(...any) error) error {
		k := t.pkDest()
		if err := scan(k...); err != nil {
			return err
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("re-encrypting %s: %w", t.name, err)
	}
	where := strings.Join(t.pk, " = ? AND ") + " = ?"
	selectRow := "SELECT " + strings.Join(t.columns, ", ") + " FROM " + t.name + " WHERE " + where + " FOR UPDATE"
	rewritten := 0
	for _, k := range keys {
		var changed bool
		err := db.sql.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			changed = false
			blobs := make([][]byte, len(t.columns))
			dest := make([]any, len(blobs))
			for i := range blobs {
				dest[i] = &blobs[i]
			}
			if err := tx.QueryRowContext(ctx, selectRow, k...).Scan(dest...); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return nil // deleted meanwhile
				}
				return err
			}
			sets, args, ok := db.resealColumns(logger, t, blobs)
			if !ok || len(sets) == 0 {
				return nil
			}
			changed = true
			_, err := tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+strings.Join(sets, ", ")+" WHERE "+where, append(args, k...)...)
			return err
		})
		if err != nil {
			return rewritten, fmt.Errorf("re-encrypting %s: %w", t.name, err)
		}
		if changed {
			rewritten++
		}
	}
	return rewritten, nil
}

// resealColumns returns the SET clauses sealing blobs with the active key.
// ok is false when the row is to be left alone.
func (db *DB) resealColumns(logger lager.Logger, t encryptedTable, blobs [][]byte) (sets []string, args []any, ok bool) {
	active := db.crypt.ActiveLabel()
	for i, blob := range blobs {
		if len(blob) == 0 {
			if t.skipEmpty {
				return nil, nil, false
			}
			continue
		}
		if label, err := encryption.KeyLabelOf(blob); err == nil && label == active {
			continue
		}
		plain, err := db.crypt.Decrypt(blob)
		if err != nil {
			logger.Error("failed-to-decode-blob", err, lager.Data{"column": t.columns[i]})
			return nil, nil, false
		}
		sealed, err := db.crypt.Encrypt(plain)
		if err != nil {
			logger.Error("failed-to-encode-blob", err, lager.Data{"column": t.columns[i]})
			return nil, nil, false
		}
		sets = append(sets, t.columns[i]+" = ?")
		args = append(args, string(sealed))
	}
	return sets, args, true
}
