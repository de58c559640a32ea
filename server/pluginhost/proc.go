package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/promogate/promogate/plugins/sdk"
)

// proc is one plugin version's process in this core, with its back-off state. The zero state
// is "stopped": the next call starts it.
type proc struct {
	h    *Host
	key  Key
	lane string // "" for Program's process; see Host.Isolated

	mu       sync.Mutex
	client   *plugin.Client
	prog     Program
	failures int // consecutive
	restarts int
	retryAt  time.Time
	lastErr  string
}

// program returns the running plugin, starting it if needed. While the process is backing off
// after failures it returns ErrUnavailable without trying (the open circuit).
func (p *proc) program(ctx context.Context) (Program, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() {
		return p.prog, nil
	}
	if p.client != nil {
		// It exited on its own: count it as a failure and back off.
		p.client.Kill()
		p.client, p.prog = nil, nil
		p.failLocked(errors.New("process exited"))
	}
	if wait := time.Until(p.retryAt); wait > 0 {
		return nil, fmt.Errorf("%w: %s is backing off for %s after: %s", ErrUnavailable, p.key, wait.Round(time.Millisecond), p.lastErr)
	}
	e, err := p.h.Entry(ctx, p.key)
	if err != nil {
		return nil, err
	}
	if e.Status != "active" {
		return nil, fmt.Errorf("%w: %s is %s", ErrUnavailable, p.key, e.Status)
	}
	c, prog, err := p.h.spawn(p.key, e.Path, e.SHA256)
	if err != nil {
		p.failLocked(err)
		return nil, err
	}
	if p.lastErr != "" {
		p.restarts++
		p.h.metrics.restarts.WithLabelValues(p.key.Name, p.key.Version).Inc()
	}
	p.client, p.prog = c, prog
	return prog, nil
}

// failLocked records a failure and schedules the next attempt with exponential back-off.
func (p *proc) failLocked(err error) {
	p.failures++
	p.lastErr = err.Error()
	d := p.h.opts.BackoffMin << min(p.failures-1, 20)
	if d > p.h.opts.BackoffMax || d <= 0 {
		d = p.h.opts.BackoffMax
	}
	p.retryAt = time.Now().Add(d)
	p.h.log.Warn("plugin failed", "plugin", p.key.Name, "version", p.key.Version, "error", err,
		"consecutive_failures", p.failures, "retry_in", d.String())
}

// failed kills the process after a call that showed it is broken (hung past its deadline,
// connection gone), unless it was already replaced.
func (p *proc) failed(prog Program, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prog != prog || p.client == nil {
		return
	}
	p.client.Kill()
	p.client, p.prog = nil, nil
	p.failLocked(err)
}

// succeeded closes the circuit after a good call.
func (p *proc) succeeded() {
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
}

// check pings a running process and restarts a dead one whose back-off has passed.
func (p *proc) check() {
	p.mu.Lock()
	c, prog := p.client, p.prog
	due := c == nil && p.lastErr != "" && !time.Now().Before(p.retryAt)
	p.mu.Unlock()
	if c != nil {
		rpc, err := c.Client()
		if err == nil && !c.Exited() {
			err = rpc.Ping()
		} else if err == nil {
			err = errors.New("process exited")
		}
		if err != nil {
			p.failed(prog, fmt.Errorf("health ping: %w", err))
		}
		return
	}
	if due {
		ctx, cancel := context.WithTimeout(context.Background(), p.h.opts.StartTimeout)
		defer cancel()
		_, _ = p.program(ctx)
	}
}

func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		p.client.Kill()
		p.client, p.prog = nil, nil
	}
}

func (p *proc) health() Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := Health{State: "stopped", Restarts: p.restarts, ConsecutiveFailures: p.failures, LastError: p.lastErr}
	switch {
	case p.client != nil && !p.client.Exited():
		h.State = "running"
	case time.Now().Before(p.retryAt):
		h.State, h.RetryAt = "backoff", p.retryAt
	}
	return h
}

// client implements Program by calling the process of one plugin version in one lane, with
// the deadline timeout on every call.
type client struct {
	h       *Host
	key     procKey
	timeout time.Duration
}

var _ Program = (*client)(nil)

// call runs fn against the running plugin. A deadline overrun or a broken connection marks the
// process failed (it is killed and respawned after back-off) and returns ErrUnavailable; an
// error the plugin itself returned is passed through.
func call[T any](ctx context.Context, c *client, fn func(context.Context, Program) (T, error)) (T, error) {
	var zero T
	p := c.h.proc(c.key)
	prog, err := p.program(ctx)
	if err != nil {
		return zero, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := fn(ctx, prog)
	if err == nil {
		p.succeeded()
		return out, nil
	}
	if brokenCall(ctx, err) {
		if pastDeadline(ctx) {
			err = fmt.Errorf("did not answer within the %s deadline", c.timeout)
		}
		p.failed(prog, err)
		return zero, fmt.Errorf("%w: %s: %v", ErrUnavailable, c.key.Key, err)
	}
	return zero, err
}

// pastDeadline reports whether the call's deadline has passed. It reads the clock rather than
// only ctx.Err: the plugin's gRPC server enforces the same propagated deadline and may reset the
// stream (codes.Canceled) a moment before the client's own timer has fired on a busy machine.
func pastDeadline(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// brokenCall tells a failure of the process or transport from an answer the plugin gave.
func brokenCall(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	code := status.Code(err)
	var remote *sdk.RemoteError
	if errors.As(err, &remote) {
		code = remote.Code
	}
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

func (c *client) Describe(ctx context.Context) (Description, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (Description, error) { return p.Describe(ctx) })
}

func (c *client) ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (ValidateConfigResponse, error) {
		return p.ValidateConfig(ctx, req)
	})
}

func (c *client) CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (EligibilityResponse, error) {
		return p.CheckEligibility(ctx, req)
	})
}

func (c *client) Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (EvaluateResponse, error) { return p.Evaluate(ctx, req) })
}

func (c *client) Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (QuoteResponse, error) { return p.Quote(ctx, req) })
}

func (c *client) Tick(ctx context.Context, req TickRequest) (TickResponse, error) {
	return call(ctx, c, func(ctx context.Context, p Program) (TickResponse, error) { return p.Tick(ctx, req) })
}
