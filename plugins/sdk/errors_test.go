package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/promogate/promogate/plugins/sdk"
	"github.com/promogate/promogate/plugins/sdk/sdktest"
	"google.golang.org/grpc/codes"
)

var sentinels = []error{
	sdk.ErrInvalidConfig,
	sdk.ErrInvalidRequest,
	sdk.ErrUnsupportedEvent,
	sdk.ErrUnsupportedHook,
	sdk.ErrNotImplemented,
	sdk.ErrUnavailable,
	sdk.ErrMalformedEffect,
	sdk.ErrInternal,
}

// failing returns a plugin whose Evaluate fails with err.
func failing(err error) *fake {
	return &fake{evaluate: func(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
		return sdk.EvaluateResponse{}, err
	}}
}

// assertOnly fails unless err matches want and none of the other sentinels.
func assertOnly(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v (%T) is not %v", err, err, want)
	}
	for _, other := range sentinels {
		if other != want && errors.Is(err, other) { //nolint:errorlint // other and want are sentinels: identity is meant
			t.Errorf("error %v is also %v", err, other)
		}
	}
}

func TestErrorsCrossTheBoundary(t *testing.T) {
	t.Parallel()
	for _, sentinel := range sentinels {
		t.Run(sentinel.Error(), func(t *testing.T) {
			t.Parallel()
			p := sdktest.Connect(t, failing(fmt.Errorf("evaluating campaign WEEKEND: %w: unitAmount is 0", sentinel)))
			_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{})
			assertOnly(t, err, sentinel)
			if want := "evaluating campaign WEEKEND: " + sentinel.Error() + ": unitAmount is 0"; err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
			var remote *sdk.RemoteError
			if !errors.As(err, &remote) {
				t.Fatalf("error %T is not a *sdk.RemoteError", err)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code codes.Code
	}{
		{sdk.ErrInvalidConfig, codes.InvalidArgument},
		{sdk.ErrUnsupportedEvent, codes.Unimplemented},
		{sdk.ErrUnavailable, codes.Unavailable},
		{sdk.ErrInternal, codes.Internal},
		{errors.New("boom"), codes.Internal},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			t.Parallel()
			_, err := sdktest.Connect(t, failing(tc.err)).Evaluate(context.Background(), sdk.EvaluateRequest{})
			var remote *sdk.RemoteError
			if !errors.As(err, &remote) || remote.Code != tc.code {
				t.Fatalf("error %v, want a *sdk.RemoteError with code %v", err, tc.code)
			}
		})
	}
}

func TestUnknownErrorIsInternal(t *testing.T) {
	t.Parallel()
	_, err := sdktest.Connect(t, failing(errors.New("boom"))).Evaluate(context.Background(), sdk.EvaluateRequest{})
	assertOnly(t, err, sdk.ErrInternal)
	if err.Error() != "boom" {
		t.Errorf("message %q, want %q", err.Error(), "boom")
	}
}

func TestPanicFailsOnlyItsCall(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	p := sdktest.Connect(t, &fake{evaluate: func(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
		if calls.Add(1) == 1 {
			panic("nil map")
		}
		return sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{NoEffectReason: "fine"}}}, nil
	}})
	_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{})
	assertOnly(t, err, sdk.ErrInternal)
	resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{})
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if got := resp.Results[0].NoEffectReason; got != "fine" {
		t.Errorf("second call answered %q, want %q", got, "fine")
	}
}

func TestDeadlineReachesPlugin(t *testing.T) {
	t.Parallel()
	seen := make(chan time.Time, 1)
	p := sdktest.Connect(t, &fake{evaluate: func(ctx context.Context, _ sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return sdk.EvaluateResponse{}, errors.New("no deadline")
		}
		seen <- d
		<-ctx.Done()
		return sdk.EvaluateResponse{}, ctx.Err()
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	want, _ := ctx.Deadline()
	_, err := p.Evaluate(ctx, sdk.EvaluateRequest{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if got := <-seen; got.Sub(want).Abs() > 50*time.Millisecond {
		t.Errorf("plugin saw deadline %v, host set %v", got, want)
	}
}

func TestCanceledReachesHost(t *testing.T) {
	t.Parallel()
	_, err := sdktest.Connect(t, failing(context.Canceled)).Evaluate(context.Background(), sdk.EvaluateRequest{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestTwoPayloadsAreMalformed(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, &fake{evaluate: func(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
		both := sdk.Credit(1, "x")
		both.Debit = &sdk.DebitPoints{Amount: 1}
		return sdk.EvaluateResponse{Results: []sdk.EvaluateResult{{Effects: []sdk.Effect{both}}}}, nil
	}})
	_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{})
	assertOnly(t, err, sdk.ErrMalformedEffect)
}

func TestUnencodableAttributesAreMalformed(t *testing.T) {
	t.Parallel()
	p := sdktest.Connect(t, &fake{tick: func(context.Context, sdk.TickRequest) (sdk.TickResponse, error) {
		grant := sdk.GrantBenefit{Key: "k", Attributes: sdk.Values{"f": func() {}}}.Effect()
		return sdk.TickResponse{Results: []sdk.MemberEffects{{MemberID: "m", Effects: []sdk.Effect{grant}}}}, nil
	}})
	_, err := p.Tick(context.Background(), sdk.TickRequest{})
	assertOnly(t, err, sdk.ErrMalformedEffect)
}

func TestUnencodableRequestIsNotSent(t *testing.T) {
	t.Parallel()
	var called atomic.Bool
	p := sdktest.Connect(t, &fake{evaluate: func(context.Context, sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
		called.Store(true)
		return sdk.EvaluateResponse{}, nil
	}})
	_, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{Items: []sdk.EvaluateItem{
		{Event: sdk.Event{Attributes: sdk.Values{"ch": make(chan int)}}},
	}})
	assertOnly(t, err, sdk.ErrInvalidRequest)
	if called.Load() {
		t.Error("the plugin was called with a request the host could not encode")
	}
}

// minimal is the smallest plugin a partner can write: Base plus Describe and
// Evaluate.
type minimal struct{ sdk.Base }

var _ sdk.Program = (*minimal)(nil)

func (minimal) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "minimal", Version: "0.1.0"}, nil
}

func (minimal) Evaluate(_ context.Context, req sdk.EvaluateRequest) (sdk.EvaluateResponse, error) {
	return sdk.EvaluateResponse{Results: make([]sdk.EvaluateResult, len(req.Items))}, nil
}

func TestBaseDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := sdktest.Connect(t, minimal{})

	valid, err := p.ValidateConfig(ctx, sdk.ValidateConfigRequest{Config: []byte(`{"anything":1}`)})
	if err != nil || valid.Errors != nil {
		t.Errorf("ValidateConfig = %+v, %v; want no errors", valid, err)
	}
	elig, err := p.CheckEligibility(ctx, sdk.EligibilityRequest{})
	if diff := cmp.Diff(sdk.EligibilityResponse{Eligible: true}, elig); err != nil || diff != "" {
		t.Errorf("CheckEligibility: %v (-want +got):\n%s", err, diff)
	}
	quote, err := p.Quote(ctx, sdk.QuoteRequest{Item: sdk.QuoteItem{Price: 1234}})
	want := sdk.QuoteResponse{Price: 1234, MaxPointsPayable: sdk.NoPointsCap, Allowed: true}
	if diff := cmp.Diff(want, quote); err != nil || diff != "" {
		t.Errorf("Quote: %v (-want +got):\n%s", err, diff)
	}
	if _, err := p.Tick(ctx, sdk.TickRequest{Hook: "month-close", Cursor: "c"}); !errors.Is(err, sdk.ErrUnsupportedHook) {
		t.Errorf("Tick: error %v, want sdk.ErrUnsupportedHook", err)
	}
}
