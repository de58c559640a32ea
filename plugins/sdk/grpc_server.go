package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	programv1 "github.com/promogate/promogate/plugins/sdk/proto/v1"
)

// grpcServer serves a Program inside the plugin process: it decodes requests
// into plain types, calls the Program and encodes its answers. A panic in the
// Program fails only the call that caused it, as ErrInternal.
type grpcServer struct {
	programv1.UnimplementedProgramServer
	impl Program
}

// recoverPanic turns a panic in the Program into ErrInternal on *err.
func recoverPanic(method string, err *error) {
	if r := recover(); r != nil {
		slog.Error("plugin panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = toStatus(fmt.Errorf("%w: panic in %s: %v", ErrInternal, method, r))
	}
}

// badRequest reports a request the plugin could not decode.
func badRequest(err error) error {
	return toStatus(fmt.Errorf("%w: %w", ErrInvalidRequest, err))
}

// badResponse reports an answer of the Program that could not be encoded.
func badResponse(err error) error {
	return toStatus(fmt.Errorf("%w: %w", ErrMalformedEffect, err))
}

func (s *grpcServer) Describe(ctx context.Context, _ *programv1.DescribeRequest) (_ *programv1.Description, err error) {
	defer recoverPanic("Describe", &err)
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return descriptionOut(d), nil
}

func (s *grpcServer) ValidateConfig(ctx context.Context, req *programv1.ValidateConfigRequest) (_ *programv1.ValidateConfigResponse, err error) {
	defer recoverPanic("ValidateConfig", &err)
	resp, err := s.impl.ValidateConfig(ctx, ValidateConfigRequest{Config: rawIn(req.GetConfigJson())})
	if err != nil {
		return nil, toStatus(err)
	}
	return validateConfigResponseOut(resp), nil
}

func (s *grpcServer) CheckEligibility(ctx context.Context, req *programv1.EligibilityRequest) (_ *programv1.EligibilityResponse, err error) {
	defer recoverPanic("CheckEligibility", &err)
	var dec decoder
	in := dec.eligibilityRequest(req)
	if dec.err != nil {
		return nil, badRequest(dec.err)
	}
	resp, err := s.impl.CheckEligibility(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	var enc encoder
	out := enc.eligibilityResponse(resp)
	if enc.err != nil {
		return nil, badResponse(enc.err)
	}
	return out, nil
}

func (s *grpcServer) Evaluate(ctx context.Context, req *programv1.EvaluateRequest) (_ *programv1.EvaluateResponse, err error) {
	defer recoverPanic("Evaluate", &err)
	var dec decoder
	in := dec.evaluateRequest(req)
	if dec.err != nil {
		return nil, badRequest(dec.err)
	}
	resp, err := s.impl.Evaluate(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	var enc encoder
	out := enc.evaluateResponse(resp)
	if enc.err != nil {
		return nil, badResponse(enc.err)
	}
	return out, nil
}

func (s *grpcServer) Quote(ctx context.Context, req *programv1.QuoteRequest) (_ *programv1.QuoteResponse, err error) {
	defer recoverPanic("Quote", &err)
	var dec decoder
	in := dec.quoteRequest(req)
	if dec.err != nil {
		return nil, badRequest(dec.err)
	}
	resp, err := s.impl.Quote(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	return quoteResponseOut(resp), nil
}

func (s *grpcServer) Tick(ctx context.Context, req *programv1.TickRequest) (_ *programv1.TickResponse, err error) {
	defer recoverPanic("Tick", &err)
	var dec decoder
	in := dec.tickRequest(req)
	if dec.err != nil {
		return nil, badRequest(dec.err)
	}
	resp, err := s.impl.Tick(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	var enc encoder
	out := enc.tickResponse(resp)
	if enc.err != nil {
		return nil, badResponse(enc.err)
	}
	return out, nil
}
