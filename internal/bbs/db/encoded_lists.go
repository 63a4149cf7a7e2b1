package db

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The bulk lists (every actual LRP, every scheduling info) are the BBS's
// largest answers: 200,000 rows to decrypt, decode and encode again. Built
// as models and then marshalled as one response they cost one core for
// seconds and gigabytes of heap. The encoded lists below decode and encode
// rows in chunks on every core while the rows are still being read, and
// keep only the encoded bytes: each row becomes one element of a repeated
// message field, exactly the bytes proto.Marshal gives for the whole
// response (a repeated field is the concatenation of its elements).

// Encoded is a list already encoded as the elements of a repeated message
// field, in row order, in pieces.
type Encoded struct {
	Pieces [][]byte
	Count  int // elements
}

// Len is the encoded size in bytes.
func (e *Encoded) Len() int {
	n := 0
	for _, p := range e.Pieces {
		n += len(p)
	}
	return n
}

// encodeChunkRows is the number of rows one worker decodes and encodes at a
// time.
const encodeChunkRows = 256

// encodeRows reads rows with scan, and with decode turns each into a model
// on every core, encoded as element field of a repeated field. decode
// returns models.ErrDeserialize for a row it cannot read: such rows are
// returned in bad and left out.
func encodeRows[S any](ctx context.Context, rows *sql.Rows, field protowire.Number,
	scan func(*sql.Rows) (S, error), decode func(S) (proto.Message, error)) (*Encoded, []S, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type chunk struct {
		n    int
		rows []S
	}
	type result struct {
		bytes []byte
		count int
		bad   []S
	}
	var (
		mu       sync.Mutex
		results  []result
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	jobs := make(chan chunk, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				var r result
				for _, s := range c.rows {
					m, err := decode(s)
					if errors.Is(err, models.ErrDeserialize) {
						r.bad = append(r.bad, s)
						continue
					}
					if err == nil {
						r.bytes, err = appendElement(r.bytes, field, m)
					}
					if err != nil {
						fail(err)
						break
					}
					r.count++
				}
				mu.Lock()
				results[c.n] = r
				mu.Unlock()
			}
		})
	}
	send := func(c chunk) {
		mu.Lock()
		results = append(results, result{})
		mu.Unlock()
		select {
		case jobs <- c:
		case <-ctx.Done():
		}
	}
	cur := chunk{}
	var scanErr error
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			scanErr = sqldb.Classify(err)
			break
		}
		cur.rows = append(cur.rows, s)
		if len(cur.rows) == encodeChunkRows {
			send(cur)
			cur = chunk{n: cur.n + 1}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(cur.rows) > 0 && scanErr == nil && ctx.Err() == nil {
		send(cur)
	}
	close(jobs)
	wg.Wait()
	if scanErr == nil {
		if err := rows.Err(); err != nil {
			scanErr = sqldb.Classify(err)
		}
	}
	if err := rows.Close(); err != nil && scanErr == nil {
		scanErr = sqldb.Classify(err)
	}
	switch {
	case firstErr != nil:
		return nil, nil, firstErr
	case scanErr != nil:
		return nil, nil, scanErr
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	}
	out := &Encoded{Pieces: make([][]byte, 0, len(results))}
	var bad []S
	for _, r := range results {
		if len(r.bytes) > 0 {
			out.Pieces = append(out.Pieces, r.bytes)
		}
		out.Count += r.count
		bad = append(bad, r.bad...)
	}
	return out, bad, nil
}

// appendElement appends m as one element of the repeated message field.
func appendElement(b []byte, field protowire.Number, m proto.Message) ([]byte, error) {
	models.FillNonNullable(m)
	size := proto.Size(m)
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	return proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, m)
}

// EncodedActualLRPs is ActualLRPs encoded as field of a response (2 in
// ActualLRPsResponse).
func (db *DB) EncodedActualLRPs(ctx context.Context, f ActualLRPFilter, field protowire.Number) (*Encoded, error) {
	query, args := actualLRPQuery(f)
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, convertError(sqldb.Classify(err))
	}
	out, bad, err := encodeRows(ctx, rows, field,
		func(r *sql.Rows) (*storedActualLRP, error) { return scanStoredActualLRP(r) },
		func(s *storedActualLRP) (proto.Message, error) { return db.decodeActualLRP(s) })
	if err != nil {
		return nil, convertError(err)
	}
	db.deleteUndecodable(ctx, db.sql, bad)
	return out, nil
}

// EncodedSchedulingInfos is DesiredLRPSchedulingInfos encoded as field of
// a response (2 in DesiredLRPSchedulingInfosResponse).
func (db *DB) EncodedSchedulingInfos(ctx context.Context, filter DesiredLRPFilter, field protowire.Number) (*Encoded, error) {
	where, args := desiredWhere(filter, true, false)
	rows, err := db.sql.QueryContext(ctx, "SELECT "+schedulingInfoColumns+" FROM desired_lrps"+where, args...)
	if err != nil {
		return nil, convertError(sqldb.Classify(err))
	}
	out, bad, err := encodeRows(ctx, rows, field,
		func(r *sql.Rows) (*storedDesiredLRP, error) {
			s := &storedDesiredLRP{}
			return s, r.Scan(s.schedulingDest()...)
		},
		func(s *storedDesiredLRP) (proto.Message, error) { return db.decodeSchedulingInfo(s) })
	if err != nil {
		return nil, convertError(err)
	}
	corrupt := make([]string, len(bad))
	for i, s := range bad {
		corrupt[i] = s.processGuid
	}
	db.deleteCorruptDesiredLRPs(ctx, db.sql, corrupt)
	return out, nil
}
