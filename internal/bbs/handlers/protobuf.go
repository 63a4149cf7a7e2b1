// Package handlers serves the BBS API: one file per resource, the route
// table wiring, and the middleware every route shares. Requests and
// responses are protobuf; application errors travel in-band in field 1 of
// the response with HTTP 200, as the reference does.
package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// ProtobufContentType is the content type of every request and response.
const ProtobufContentType = "application/x-protobuf"

// errBodyTooLarge is returned for a body over the configured limit.
var errBodyTooLarge = errors.New("request body too large")

// readRequest decodes the body into req. A body that cannot be read or
// decoded, or is larger than limit, is the reference's bad request.
func readRequest(r *http.Request, req proto.Message, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return models.ErrBadRequest
	}
	if int64(len(body)) > limit {
		return models.ErrBadRequest
	}
	if err := models.Unmarshal(body, req); err != nil {
		return models.ErrBadRequest
	}
	return nil
}

// writeResponse encodes resp with HTTP 200.
func writeResponse(w http.ResponseWriter, logger lager.Logger, resp proto.Message) {
	body, err := models.Marshal(resp)
	if err != nil {
		logger.Error("failed-to-marshal-response", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ProtobufContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// wireError is what goes into a response's error field: nil for nil, the
// application error itself, or UnknownError with the text of anything else.
func wireError(err error) *models.Error {
	return models.ConvertError(err)
}
