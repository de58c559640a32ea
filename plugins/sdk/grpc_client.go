package sdk

import (
	"context"
	"fmt"

	programv1 "github.com/promogate/promogate/plugins/sdk/proto/v1"
)

// grpcClient is the host's view of a plugin: a Program whose methods
// translate to protobuf, call the plugin and translate back. It checks no
// business rules (not even the number of Evaluate results): that is the
// core's job, so that it sees exactly what the plugin answered.
type grpcClient struct {
	client programv1.ProgramClient
}

var _ Program = (*grpcClient)(nil)

// requestError reports a request the host could not encode.
func requestError(err error) error {
	return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
}

// responseError reports a response from the plugin that could not be decoded.
func responseError(err error) error {
	return fmt.Errorf("%w: %w", ErrMalformedEffect, err)
}

func (c *grpcClient) Describe(ctx context.Context) (Description, error) {
	resp, err := c.client.Describe(ctx, &programv1.DescribeRequest{})
	if err != nil {
		return Description{}, fromStatus(err)
	}
	return descriptionIn(resp), nil
}

func (c *grpcClient) ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error) {
	resp, err := c.client.ValidateConfig(ctx, &programv1.ValidateConfigRequest{ConfigJson: rawOut(req.Config)})
	if err != nil {
		return ValidateConfigResponse{}, fromStatus(err)
	}
	return validateConfigResponseIn(resp), nil
}

func (c *grpcClient) CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error) {
	var enc encoder
	in := enc.eligibilityRequest(req)
	if enc.err != nil {
		return EligibilityResponse{}, requestError(enc.err)
	}
	resp, err := c.client.CheckEligibility(ctx, in)
	if err != nil {
		return EligibilityResponse{}, fromStatus(err)
	}
	var dec decoder
	out := dec.eligibilityResponse(resp)
	if dec.err != nil {
		return EligibilityResponse{}, responseError(dec.err)
	}
	return out, nil
}

func (c *grpcClient) Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error) {
	var enc encoder
	in := enc.evaluateRequest(req)
	if enc.err != nil {
		return EvaluateResponse{}, requestError(enc.err)
	}
	resp, err := c.client.Evaluate(ctx, in)
	if err != nil {
		return EvaluateResponse{}, fromStatus(err)
	}
	var dec decoder
	out := dec.evaluateResponse(resp)
	if dec.err != nil {
		return EvaluateResponse{}, responseError(dec.err)
	}
	return out, nil
}

func (c *grpcClient) Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error) {
	var enc encoder
	in := enc.quoteRequest(req)
	if enc.err != nil {
		return QuoteResponse{}, requestError(enc.err)
	}
	resp, err := c.client.Quote(ctx, in)
	if err != nil {
		return QuoteResponse{}, fromStatus(err)
	}
	return quoteResponseIn(resp), nil
}

func (c *grpcClient) Tick(ctx context.Context, req TickRequest) (TickResponse, error) {
	var enc encoder
	in := enc.tickRequest(req)
	if enc.err != nil {
		return TickResponse{}, requestError(enc.err)
	}
	resp, err := c.client.Tick(ctx, in)
	if err != nil {
		return TickResponse{}, fromStatus(err)
	}
	var dec decoder
	out := dec.tickResponse(resp)
	if dec.err != nil {
		return TickResponse{}, responseError(dec.err)
	}
	return out, nil
}
