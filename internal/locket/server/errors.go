package server

import (
	"errors"
	"fmt"

	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SQLErrors is the ErrorMapper for SQL storage: every storage failure goes
// to the client as code Unknown with the reference's message, and a missing
// table makes the server stop.
func SQLErrors(err error) (error, bool) {
	switch {
	case errors.Is(err, sqldb.ErrDuplicateKey):
		return status.Error(codes.Unknown, "sql-resource-exists"), false
	case errors.Is(err, sqldb.ErrDeadlock):
		return status.Error(codes.Unknown, "sql-deadlock"), false
	case errors.Is(err, sqldb.ErrDataTooLong):
		return status.Error(codes.Unknown, "sql-bad-request"), false
	case errors.Is(err, sqldb.ErrUnrecoverable):
		return status.Error(codes.Unknown, "sql-unrecoverable"), true
	}
	if code, flavor, ok := sqldb.ErrorCode(err); ok {
		return status.Error(codes.Unknown, fmt.Sprintf("sql-unknown, error code: %s, flavor: %s", code, flavor)), false
	}
	return status.Error(codes.Unknown, err.Error()), false
}
