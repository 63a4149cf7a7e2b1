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
// hand the encoded chunks, in row order, to a sink as soon as they are
// ready: each row is one element of a repeated message field, exactly the
// bytes proto.Marshal gives for the whole response (a repeated field is
// the concatenation of its elements). A slow sink holds the reading back,
// so memory stays bounded by the chunks in flight.

// Sink receives an encoded list piece by piece, in order. An error stops
// the list.
type Sink func(piece []byte) error

// encodeChunkRows is the number of rows one worker decodes and encodes at a
// time.
const encodeChunkRows = 256

// encodeRows reads rows with scan, and with decode turns each into a model
// on every core, encoded as an element of the repeated field; the pieces go
// to sink in row order. decode returns models.ErrDeserialize for a row it
// cannot read: such rows are returned in bad and left out. It returns the
// number of elements sent.
func encodeRows[S any](ctx context.Context, rows *sql.Rows, field protowire.Number, sink Sink,
	scan func(*sql.Rows) (S, error), decode func(S) (proto.Message, error)) (int, []S, error) {
	// A worker's or the sink's failure cancels the rest with its error.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	type chunk struct {
		n    int
		rows []S
	}
	type result struct {
		n     int
		bytes []byte
		count int
		bad   []S
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan chunk, workers)
	done := make(chan result, workers)
	// slots bounds the chunks read but not yet handed to the sink.
	slots := make(chan struct{}, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				r := result{n: c.n}
				for _, s := range c.rows {
					if ctx.Err() != nil {
						break
					}
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
				done <- r
			}
		})
	}
	// The emitter hands finished chunks to the sink in order.
	var (
		count int
		bad   []S
	)
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		pending := map[int]result{}
		next := 0
		for r := range done {
			pending[r.n] = r
			for {
				r, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				count += r.count
				bad = append(bad, r.bad...)
				if len(r.bytes) > 0 && ctx.Err() == nil {
					if err := sink(r.bytes); err != nil {
						fail(err)
					}
				}
				<-slots
			}
		}
	}()
	send := func(c chunk) bool {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		jobs <- c
		return true
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
			if !send(cur) {
				break
			}
			cur = chunk{n: cur.n + 1}
		}
	}
	if len(cur.rows) > 0 && scanErr == nil && ctx.Err() == nil {
		send(cur)
	}
	close(jobs)
	wg.Wait()
	close(done)
	<-emitted
	if scanErr == nil {
		if err := rows.Err(); err != nil {
			scanErr = sqldb.Classify(err)
		}
	}
	if err := rows.Close(); err != nil && scanErr == nil {
		scanErr = sqldb.Classify(err)
	}
	if err := context.Cause(ctx); err != nil {
		return 0, nil, err // a failure above, or the caller's context
	}
	if scanErr != nil {
		return 0, nil, scanErr
	}
	return count, bad, nil
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
// ActualLRPsResponse), handed to sink; it returns the number of elements.
func (db *DB) EncodedActualLRPs(ctx context.Context, f ActualLRPFilter, field protowire.Number, sink Sink) (int, error) {
	if rows, ok := db.view.filtered(f); ok {
		return len(rows), sendEncoded(rows, field, sink)
	}
	query, args := actualLRPQuery(f)
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, convertError(sqldb.Classify(err))
	}
	n, bad, err := encodeRows(ctx, rows, field, sink,
		func(r *sql.Rows) (*storedActualLRP, error) { return scanStoredActualLRP(r) },
		func(s *storedActualLRP) (proto.Message, error) { return db.decodeActualLRP(s) })
	if err != nil {
		return 0, convertError(err)
	}
	db.deleteUndecodable(ctx, db.sql, bad)
	return n, nil
}

// EncodedSchedulingInfos is DesiredLRPSchedulingInfos encoded as field of
// a response (2 in DesiredLRPSchedulingInfosResponse).
func (db *DB) EncodedSchedulingInfos(ctx context.Context, filter DesiredLRPFilter, field protowire.Number, sink Sink) (int, error) {
	if rows, ok := db.dview.selected(DesiredLRPFilter{Domain: filter.Domain, ProcessGuids: filter.ProcessGuids}); ok {
		return len(rows), sendEncoded(rows, field, sink)
	}
	where, args := desiredWhere(filter, true, false)
	rows, err := db.sql.QueryContext(ctx, "SELECT "+schedulingInfoColumns+" FROM desired_lrps"+where, args...)
	if err != nil {
		return 0, convertError(sqldb.Classify(err))
	}
	n, bad, err := encodeRows(ctx, rows, field, sink,
		func(r *sql.Rows) (*storedDesiredLRP, error) {
			s := &storedDesiredLRP{}
			return s, r.Scan(s.schedulingDest()...)
		},
		func(s *storedDesiredLRP) (proto.Message, error) { return db.decodeSchedulingInfo(s) })
	if err != nil {
		return 0, convertError(err)
	}
	corrupt := make([]string, len(bad))
	for i, s := range bad {
		corrupt[i] = s.processGuid
	}
	db.deleteCorruptDesiredLRPs(ctx, db.sql, corrupt)
	return n, nil
}
