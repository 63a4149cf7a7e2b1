package rep

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/rep/repmodels"
)

// maxWorkBody bounds a /work body.
const maxWorkBody = 64 << 20

// AuctionHandler serves the securable listener's auction routes (§3.2):
//
//	GET  /state  200 CellState (503 with the same body while unhealthy)
//	POST /work   200 the refused Work; 400 bad JSON; 500 cell id mismatch
func AuctionHandler(c *Cell, healthy func() bool, logger lager.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(c.State())
		if err != nil {
			logger.Error("failed-to-marshal-state", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if healthy != nil && !healthy() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write(body)
	})
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxWorkBody+1))
		if err != nil || len(data) > maxWorkBody {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var work repmodels.Work
		if err := json.Unmarshal(data, &work); err != nil {
			logger.Info("bad-work-request", lager.Data{"error": err.Error()})
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		failed, err := c.Perform(work)
		if err != nil {
			if !errors.Is(err, ErrCellIDMismatch) {
				logger.Error("failed-to-perform-work", err)
			}
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(failed)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return mux
}
