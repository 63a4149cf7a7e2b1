package cfdot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/httpclient"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// How reps are asked for their state: cell-state and cell-states wait 10 s
// for each, as the reference does, 16 at a time; distribution, which only
// falls back to an estimate when a rep is slow, waits less and asks more
// at once so that 1,000 cells take seconds even when many reps hang.
const (
	repStateTimeout      = 10 * time.Second
	repStateFetchers     = 16
	distributionWait     = 3 * time.Second
	distributionFetchers = 64
)

// repClient reads cells' states from their reps. Reps are called with the
// command's CA, certificate and key; --skipCertVerify does not apply.
type repClient struct {
	http    *http.Client
	workers int // reps asked at once by states
	// tls says whether the CA, certificate and key are all known, so that
	// https reps can be called.
	tls bool
}

// repClient builds the rep client of a command, waiting up to timeout for
// each rep and asking workers reps at once; bad TLS files end cfdot with
// ExitComponent.
func (c *conn) repClient(timeout time.Duration, workers int) (*repClient, error) {
	r := &repClient{tls: c.caFile != "" && c.certFile != "" && c.keyFile != "", workers: workers}
	var t *tls.Config
	if r.tls {
		var err error
		t, err = tlsconfig.Client(tlsconfig.Files{CAFile: c.caFile, CertFile: c.certFile, KeyFile: c.keyFile}, "")
		if err != nil {
			return nil, componentErr(fmt.Errorf("Failed creating rep client factory: %s", err))
		}
	}
	r.http = httpclient.New(t, httpclient.Options{Timeout: timeout, MaxIdleConnsPerHost: max(2, workers)})
	return r, nil
}

// baseURL picks the address of a cell's rep: its rep_url when there is
// one, else its rep_address; an https rep_url needs the TLS files.
func (r *repClient) baseURL(cell *models.CellPresence) (string, error) {
	repURL := cell.GetRepUrl()
	if repURL == "" {
		return cell.GetRepAddress(), nil
	}
	u, err := url.Parse(repURL)
	if err != nil {
		return "", err
	}
	if u.Scheme == "https" && !r.tls {
		return "", errors.New("https scheme not supported since certificates aren't provided")
	}
	return repURL, nil
}

// state fetches GET /state of a cell's rep. Anything but 200 is an error,
// even a 503 that carries a state.
func (r *repClient) state(ctx context.Context, cell *models.CellPresence) (*cellState, error) {
	base, err := r.baseURL(cell)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/state", nil)
	if err != nil {
		return nil, err
	}
	if id := bbsclient.RequestID(ctx); id != "" {
		req.Header.Set("X-Vcap-Request-Id", id)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status code: %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var s cellState
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// states asks every cell's rep for its state, r.workers at a time. The
// results are in the order of cells; a failed cell has a nil state and
// its error.
func (r *repClient) states(ctx context.Context, cells []*models.CellPresence) ([]*cellState, []error) {
	states := make([]*cellState, len(cells))
	errs := make([]error, len(cells))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(1, r.workers), len(cells)) {
		wg.Go(func() {
			for i := range next {
				states[i], errs[i] = r.state(ctx, cells[i])
			}
		})
	}
	for i := range cells {
		next <- i
	}
	close(next)
	wg.Wait()
	return states, errs
}
