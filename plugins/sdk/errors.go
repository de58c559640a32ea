package sdk

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The errors a Program method may return (wrapped, with %w) and the host side
// reports. Each crosses the process boundary as a gRPC status code plus a
// stable reason, so errors.Is matches it on the other side.
var (
	// ErrInvalidConfig means the campaign configuration cannot be used.
	ErrInvalidConfig = errors.New("invalid campaign config")
	// ErrInvalidRequest means the request is malformed (bad JSON, missing fields).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnsupportedEvent means the plugin does not evaluate this event type.
	ErrUnsupportedEvent = errors.New("unsupported event type")
	// ErrUnsupportedHook means Tick was called with a hook the plugin did not ask for.
	ErrUnsupportedHook = errors.New("unsupported hook")
	// ErrNotImplemented means the plugin does not implement the method.
	ErrNotImplemented = errors.New("not implemented")
	// ErrUnavailable means the plugin cannot answer now; the core retries later.
	// The host side also reports a dead or unreachable plugin process this way.
	ErrUnavailable = errors.New("plugin unavailable")
	// ErrMalformedEffect means an effect could not be encoded (two payloads, or
	// attributes that are not JSON).
	ErrMalformedEffect = errors.New("malformed effect")
	// ErrInternal is any other failure inside the plugin, including a panic.
	ErrInternal = errors.New("plugin internal error")
)

// errorDomain is the ErrorInfo domain that marks statuses made by this table.
const errorDomain = "promogate.plugin.v1"

// errorTable is the explicit translation between SDK errors and the wire: a
// gRPC status code for generic clients plus a stable reason in an ErrorInfo
// detail, so errors that share a status code still come back as themselves.
var errorTable = []struct {
	err    error
	reason string
	code   codes.Code
}{
	{ErrInvalidConfig, "INVALID_CONFIG", codes.InvalidArgument},
	{ErrInvalidRequest, "INVALID_REQUEST", codes.InvalidArgument},
	{ErrUnsupportedEvent, "UNSUPPORTED_EVENT", codes.Unimplemented},
	{ErrUnsupportedHook, "UNSUPPORTED_HOOK", codes.Unimplemented},
	{ErrNotImplemented, "NOT_IMPLEMENTED", codes.Unimplemented},
	{ErrUnavailable, "UNAVAILABLE", codes.Unavailable},
	{ErrMalformedEffect, "MALFORMED_EFFECT", codes.Internal},
	{ErrInternal, "INTERNAL", codes.Internal},
}

// RemoteError is an error reported by the other side of the connection. Its
// message is the remote error's text; errors.Is matches the SDK error it was
// translated from (one of the Err* values, context.DeadlineExceeded or
// context.Canceled).
type RemoteError struct {
	// Code is the gRPC status code it travelled with.
	Code    codes.Code
	Message string
	kind    error
}

// Error returns the remote message.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the SDK error the remote error was translated from.
func (e *RemoteError) Unwrap() error { return e.kind }

// toStatus turns an error returned by a Program into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	row := errorTable[len(errorTable)-1]
	for _, r := range errorTable {
		if errors.Is(err, r.err) {
			row = r
			break
		}
	}
	st, detailErr := status.New(row.code, err.Error()).WithDetails(&errdetails.ErrorInfo{
		Reason: row.reason,
		Domain: errorDomain,
	})
	if detailErr != nil {
		return status.Error(row.code, err.Error())
	}
	return st.Err()
}

// fromStatus turns an error returned by a gRPC call into a *RemoteError.
// Statuses without a detail from this table (transport failures, a crashed
// plugin) are classified by their code.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &RemoteError{Code: codes.Unknown, Message: err.Error(), kind: ErrInternal}
	}
	remote := &RemoteError{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != errorDomain {
			continue
		}
		for _, r := range errorTable {
			if r.reason == info.GetReason() {
				remote.kind = r.err
				return remote
			}
		}
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		remote.kind = context.DeadlineExceeded
	case codes.Canceled:
		remote.kind = context.Canceled
	case codes.Unavailable:
		remote.kind = ErrUnavailable
	case codes.Unimplemented:
		remote.kind = ErrNotImplemented
	case codes.InvalidArgument:
		remote.kind = ErrInvalidRequest
	default:
		remote.kind = ErrInternal
	}
	return remote
}
