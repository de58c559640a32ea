package graph

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/graph/scalar"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/backtest"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/live"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
	"github.com/promogate/promogate/server/rewards"
	"github.com/promogate/promogate/server/shadow"
)

// errorCodes maps domain errors to the stable codes clients see in extensions.code. A domain
// error missing here is reported as INTERNAL, so every new domain error must join this table.
var errorCodes = []struct {
	err  error
	code model.ErrorCode
}{
	{ledger.ErrInsufficientPoints, model.ErrorCodeInsufficientPoints},
	{ledger.ErrIdempotencyConflict, model.ErrorCodeIdempotencyConflict},
	{ledger.ErrAlreadyReversed, model.ErrorCodeAlreadyReversed},
	{ledger.ErrNotReversible, model.ErrorCodeNotReversible},
	{ledger.ErrTransactionNotFound, model.ErrorCodeTransactionNotFound},
	{ledger.ErrProgramNotFound, model.ErrorCodeProgramNotFound},
	{ledger.ErrMemberNotFound, model.ErrorCodeMemberNotFound},
	{members.ErrNotFound, model.ErrorCodeMemberNotFound},
	{ledger.ErrInvalidAmount, model.ErrorCodeInvalidAmount},
	{ledger.ErrInvalidIdempotencyKey, model.ErrorCodeInvalidIdempotencyKey},
	{ledger.ErrInvalidPeriod, model.ErrorCodeInvalidInput},
	{ledger.ErrInvalidProgram, model.ErrorCodeInvalidInput},
	{ledger.ErrProgramExists, model.ErrorCodeAlreadyExists},
	{members.ErrInvalid, model.ErrorCodeInvalidInput},
	{scalar.ErrInvalid, model.ErrorCodeInvalidInput},
	{scalar.ErrNUL, model.ErrorCodeInvalidCharacter},
	{scalar.ErrIntRange, model.ErrorCodeIntOutOfRange},
	{pluginhost.ErrNotFound, model.ErrorCodePluginNotFound},
	{pluginhost.ErrExists, model.ErrorCodeAlreadyExists},
	{pluginhost.ErrChecksumMismatch, model.ErrorCodeChecksumMismatch},
	{pluginhost.ErrBinary, model.ErrorCodePluginBinaryInvalid},
	{pluginhost.ErrDescribeMismatch, model.ErrorCodePluginDescribeMismatch},
	{pluginhost.ErrInvalid, model.ErrorCodeInvalidInput},
	{pluginhost.ErrUnavailable, model.ErrorCodePluginUnavailable},
	{pluginhost.ErrInvalidConfig, model.ErrorCodeInvalidConfig},
	{campaigns.ErrNotFound, model.ErrorCodeCampaignNotFound},
	{campaigns.ErrExists, model.ErrorCodeAlreadyExists},
	{campaigns.ErrInvalid, model.ErrorCodeInvalidInput},
	{campaigns.ErrIllegalTransition, model.ErrorCodeIllegalTransition},
	{campaigns.ErrNotPublic, model.ErrorCodeParticipantsNotPublic},
	{shadow.ErrNotFound, model.ErrorCodeShadowNotFound},
	{shadow.ErrExists, model.ErrorCodeShadowExists},
	{shadow.ErrInvalid, model.ErrorCodeInvalidInput},
	{engine.ErrInvalidEvent, model.ErrorCodeInvalidInput},
	{engine.ErrFutureEvent, model.ErrorCodeFutureEvent},
	{engine.ErrCampaignNotOpen, model.ErrorCodeCampaignNotOpen},
	{engine.ErrEnrollmentConflict, model.ErrorCodeIdempotencyConflict},
	{engine.ErrInvalidEnrollment, model.ErrorCodeInvalidInput},
	{engine.ErrUnknownMember, model.ErrorCodeMemberNotFound},
	{engine.ErrNotFound, model.ErrorCodeEventNotFound},
	{live.ErrTooManySubscriptions, model.ErrorCodeTooManySubscriptions},
	{benefits.ErrNotFound, model.ErrorCodeInvalidInput},
	{benefits.ErrNoBenefit, model.ErrorCodeBenefitNotFound},
	{benefits.ErrFulfillmentTransition, model.ErrorCodeIllegalTransition},
	{benefits.ErrInvalid, model.ErrorCodeInvalidInput},
	{referral.ErrInvalid, model.ErrorCodeInvalidInput},
	{rewards.ErrNotFound, model.ErrorCodeRewardNotFound},
	{rewards.ErrOrderNotFound, model.ErrorCodeRedemptionNotFound},
	{rewards.ErrInvalid, model.ErrorCodeInvalidInput},
	{rewards.ErrExists, model.ErrorCodeAlreadyExists},
	{rewards.ErrAlreadyReversed, model.ErrorCodeAlreadyReversed},
	{rewards.ErrIdempotencyConflict, model.ErrorCodeIdempotencyConflict},
	{rewards.ErrRateLimited, model.ErrorCodeRateLimited},
	{rewards.ErrPointsOutOfRange, model.ErrorCodePointsOutOfRange},
	{rewards.ErrKindForbidden, model.ErrorCodeRewardKindForbidden},
	{backtest.ErrNotFound, model.ErrorCodeBacktestNotFound},
	{backtest.ErrInvalidPeriod, model.ErrorCodeInvalidPeriod},
	{backtest.ErrInvalid, model.ErrorCodeInvalidInput},
	{backtest.ErrNotDraft, model.ErrorCodeCampaignNotDraft},
	{backtest.ErrRunning, model.ErrorCodeBacktestRunning},
	{backtest.ErrFinished, model.ErrorCodeBacktestFinished},
	{auth.ErrKeyNotFound, model.ErrorCodeAPIKeyNotFound},
	{auth.ErrInvalid, model.ErrorCodeInvalidInput},
	{auth.ErrUnauthenticated, model.ErrorCodeUnauthenticated},
}

// codeOf returns the code for err and whether err is a known (expected) error.
func codeOf(err error) (model.ErrorCode, bool) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code, true
		}
	}
	var badID errInvalidID
	if errors.As(err, &badID) {
		return model.ErrorCodeInvalidID, true
	}
	var badInput errInvalidInput
	if errors.As(err, &badInput) {
		return model.ErrorCodeInvalidInput, true
	}
	var badConfig *campaigns.ConfigError
	if errors.As(err, &badConfig) {
		return model.ErrorCodeInvalidConfig, true
	}
	var disabled errDisabled
	if errors.As(err, &disabled) {
		return model.ErrorCodeDisabled, true
	}
	return model.ErrorCodeInternal, false
}

// ErrorPresenter turns resolver errors into GraphQL errors with a stable extensions.code.
// Known domain errors (bad input among them) keep their message and are logged at debug
// level; anything else is logged at error level with the request path and shown as a generic
// INTERNAL error, so no internal detail leaks to clients.
func ErrorPresenter(log hclog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// Parser, validation and argument-coercion errors made by gqlgen itself.
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			if _, ok := gqlErr.Extensions["code"]; !ok {
				gqlErr.Extensions["code"] = string(model.ErrorCodeInvalidInput)
			}
			switch {
			case strings.HasPrefix(gqlErr.Message, "exceeded token limit"):
				// The parser's token limit (HandlerOptions.Limits.MaxTokens).
				gqlErr.Extensions["code"] = string(model.ErrorCodeTooManyTokens)
			case strings.HasPrefix(gqlErr.Message, "Int cannot represent non 32-bit"):
				// An Int literal beyond 64 bits, refused by validation; within 64 bits the
				// scalar refuses it (scalar.ErrIntRange) with the same code.
				gqlErr.Extensions["code"] = string(model.ErrorCodeIntOutOfRange)
			case gqlErr.Message == "cannot use value 9223372036854775807 as Int" ||
				gqlErr.Message == "cannot use value -9223372036854775808 as Int":
				// The same for a variable: the validator reports the 64-bit bound it clamped to.
				gqlErr.Message = fmt.Sprintf("integer out of range: the value is outside GraphQL's 32-bit range (%d to %d)", scalar.MinInt, scalar.MaxInt)
				gqlErr.Extensions["code"] = string(model.ErrorCodeIntOutOfRange)
			}
			return gqlErr
		}
		out := graphql.DefaultErrorPresenter(ctx, err)
		code, known := codeOf(err)
		if !known && db.Unavailable(err) {
			// An outage, not a bug: the client may retry (see httpTransport: HTTP 503).
			log.Warn("request failed: database unavailable", "path", out.Path.String(), "error", err)
			code = model.ErrorCodeUnavailable
			out.Message = "the database is unavailable; retry later"
		} else if known {
			log.Debug("request refused", "path", out.Path.String(), "code", code, "error", err)
		} else {
			log.Error("request failed", "path", out.Path.String(), "error", err)
			out.Message = "internal error"
		}
		if out.Extensions == nil {
			out.Extensions = map[string]any{}
		}
		out.Extensions["code"] = string(code)
		var badConfig *campaigns.ConfigError
		if errors.As(err, &badConfig) {
			fields := make([]map[string]string, len(badConfig.Errors))
			for i, f := range badConfig.Errors {
				fields[i] = map[string]string{"field": f.Field, "code": f.Code, "message": f.Message}
			}
			out.Extensions["fields"] = fields
		}
		return out
	}
}

// RecoverFunc turns a resolver panic into a generic INTERNAL error and a log line with the
// stack, so one bad request never takes the process down.
func RecoverFunc(log hclog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		path := ""
		if fc := graphql.GetFieldContext(ctx); fc != nil {
			path = fc.Path().String()
		}
		log.Error("panic in resolver", "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &gqlerror.Error{
			Message:    "internal error",
			Extensions: map[string]any{"code": string(model.ErrorCodeInternal)},
		}
	}
}
