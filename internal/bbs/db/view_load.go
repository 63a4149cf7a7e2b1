package db

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// The actual and desired LRP views load the same way: one statement reads
// the whole table while writes go on; a write that commits meanwhile notes
// its key (a slot, a process guid) in touched; the keys noted are read
// again, each under its stripe, until none is left; then the view serves.

type viewState int

const (
	viewOff viewState = iota
	viewLoading
	viewLoaded
)

// viewLoad is the state a view's load shares with its writers. mu also
// guards the view's rows.
type viewLoad[K comparable] struct {
	logger lager.Logger

	mu      sync.Mutex
	state   viewState
	touched map[K]struct{} // keys written while loading

	// afterSelect, when set (tests), runs between the loading statement and
	// the catch-up of the keys written meanwhile.
	afterSelect func()
}

// viewBuild is a copy of a view's rows being loaded.
type viewBuild[K comparable] interface {
	// reread reads key k into the copy again, under k's stripe.
	reread(ctx context.Context, k K) error
	// installLocked makes the copy the view's rows and returns their
	// number; mu is held.
	installLocked() int
}

// startLoadLocked marks the view loading and loads it in the background:
// read reads the table, retried every second until it succeeds or ctx
// ends. mu is held.
func (l *viewLoad[K]) startLoadLocked(ctx context.Context, read func(context.Context) (viewBuild[K], error)) {
	l.state = viewLoading
	l.touched = map[K]struct{}{}
	go func() {
		for attempt := 0; ; attempt++ {
			err := l.loadOnce(ctx, read)
			if err == nil {
				return
			}
			l.logger.Error("load-failed", err, lager.Data{"attempt": attempt})
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

func (l *viewLoad[K]) loadOnce(ctx context.Context, read func(context.Context) (viewBuild[K], error)) error {
	start := time.Now()
	b, err := read(ctx)
	if err != nil {
		return err
	}
	if l.afterSelect != nil {
		l.afterSelect()
	}
	for {
		l.mu.Lock()
		if l.state != viewLoading {
			l.mu.Unlock()
			return nil
		}
		if len(l.touched) == 0 {
			n := b.installLocked()
			l.touched, l.state = nil, viewLoaded
			l.mu.Unlock()
			l.logger.Info("loaded", lager.Data{"rows": n, "duration": time.Since(start).String()})
			return nil
		}
		keys := slices.Collect(maps.Keys(l.touched))
		clear(l.touched)
		l.mu.Unlock()
		for _, k := range keys {
			if err := b.reread(ctx, k); err != nil {
				return err
			}
		}
	}
}

// loadChunkRows is the number of rows decoded together while loading.
const loadChunkRows = 2048

// decodeRows reads rows with scan, decodes chunks of them on every core
// and hands them to add in table order; it closes rows. The rows decode
// finds undecodable (models.ErrDeserialize) are returned in bad and left
// out.
func decodeRows[S, R any](rows *sql.Rows, scan func(rowScanner) (S, error), decode func(S) (R, error), add func(R)) (bad []S, err error) {
	defer rows.Close()
	chunk := make([]S, 0, loadChunkRows)
	out := make([]R, loadChunkRows)
	errs := make([]error, loadChunkRows)
	flush := func() error {
		parallel(len(chunk), func(i int) { out[i], errs[i] = decode(chunk[i]) })
		for i := range chunk {
			switch {
			case errors.Is(errs[i], models.ErrDeserialize):
				bad = append(bad, chunk[i])
			case errs[i] != nil:
				return errs[i]
			default:
				add(out[i])
			}
		}
		chunk = chunk[:0]
		return nil
	}
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, sqldb.Classify(err)
		}
		if chunk = append(chunk, s); len(chunk) == loadChunkRows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Classify(err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return bad, nil
}

// viewChunkBytes is the size of the pieces a view list hands to its sink.
const viewChunkBytes = 256 << 10

// encodedRow is a view row kept encoded, the bytes of one list element.
type encodedRow interface {
	encoded() []byte
}

// sendEncoded hands rows to sink as elements of field, in pieces.
func sendEncoded[R encodedRow](rows []R, field protowire.Number, sink Sink) error {
	var buf []byte
	for _, r := range rows {
		buf = protowire.AppendTag(buf, field, protowire.BytesType)
		buf = protowire.AppendBytes(buf, r.encoded())
		if len(buf) >= viewChunkBytes {
			if err := sink(buf); err != nil {
				return err
			}
			buf = nil
		}
	}
	if len(buf) > 0 {
		return sink(buf)
	}
	return nil
}
