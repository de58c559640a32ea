package sdk

import (
	"context"
	"errors"
	"testing"

	programv1 "github.com/promogate/promogate/plugins/sdk/proto/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Statuses that did not come from toStatus (the transport failed, the plugin
// process died, a plugin in another language answered) are classified by code.
func TestFromStatusWithoutDetail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   error
		want error
	}{
		{status.Error(codes.Unavailable, "connection refused"), ErrUnavailable},
		{status.Error(codes.DeadlineExceeded, "deadline"), context.DeadlineExceeded},
		{status.Error(codes.Canceled, "canceled"), context.Canceled},
		{status.Error(codes.Unimplemented, "unknown method Quote"), ErrNotImplemented},
		{status.Error(codes.InvalidArgument, "bad"), ErrInvalidRequest},
		{status.Error(codes.ResourceExhausted, "message larger than max"), ErrInternal},
		{errors.New("not a status"), ErrInternal},
	}
	for _, tc := range cases {
		got := fromStatus(tc.in)
		if !errors.Is(got, tc.want) {
			t.Errorf("fromStatus(%v) = %v, want it to be %v", tc.in, got, tc.want)
		}
	}
}

// stubClient answers Evaluate with a fixed response, as a plugin not written
// with this SDK could.
type stubClient struct {
	programv1.ProgramClient
	resp *programv1.EvaluateResponse
}

func (s stubClient) Evaluate(context.Context, *programv1.EvaluateRequest, ...grpc.CallOption) (*programv1.EvaluateResponse, error) {
	return s.resp, nil
}

func TestUndecodableResponseIsMalformed(t *testing.T) {
	t.Parallel()
	c := &grpcClient{client: stubClient{resp: &programv1.EvaluateResponse{Results: []*programv1.EvaluateResult{{
		Effects: []*programv1.Effect{{
			Kind:    string(KindGrantBenefit),
			Payload: &programv1.Effect_GrantBenefit{GrantBenefit: &programv1.GrantBenefit{AttributesJson: []byte(`{"x":`)}},
		}},
	}}}}}
	_, err := c.Evaluate(context.Background(), EvaluateRequest{})
	if !errors.Is(err, ErrMalformedEffect) {
		t.Fatalf("error %v, want ErrMalformedEffect", err)
	}
}
