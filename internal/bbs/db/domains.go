package db

import (
	"context"
	"math"
	"time"

	"github.com/diego-go/diego/internal/sqldb"
)

// FreshDomains returns the domains whose TTL has not run out, compared with
// now rounded to the second as the reference does. It returns nil when
// there are none.
func (db *DB) FreshDomains(ctx context.Context) ([]string, error) {
	now := db.now().Round(time.Second).UnixNano()
	var domains []string
	err := eachRow(ctx, db.sql, "SELECT domain FROM domains WHERE expire_time > ?", func(scan func(...any) error) error {
		var d string
		if err := scan(&d); err != nil {
			return err
		}
		domains = append(domains, d)
		return nil
	}, now)
	if err != nil {
		return nil, convertError(err)
	}
	return domains, nil
}

// UpsertDomain marks domain fresh for ttl seconds from now; 0 means for
// ever (expire_time math.MaxInt64).
func (db *DB) UpsertDomain(ctx context.Context, domain string, ttl uint32) error {
	if err := sqldb.CheckLength("domain", domain, 255); err != nil {
		return convertError(err)
	}
	expire := int64(math.MaxInt64)
	if ttl > 0 {
		expire = db.now().Add(time.Duration(ttl) * time.Second).UnixNano()
	}
	return db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Flavor().Upsert(domainsTable, []string{"domain"}, []string{"expire_time"}), domain, expire)
		return err
	})
}
