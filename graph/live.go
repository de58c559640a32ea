package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/graph/model"
	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/live"
)

// LiveOptions configures live updates: subscriptions over WebSocket at /graphql with the
// graphql-transport-ws protocol (docs/live.md). Zero fields take the defaults.
type LiveOptions struct {
	// Authenticate checks an Authorization value ("Bearer <API key or member token>") sent in
	// connection_init's payload by the client at address addr, with the checks HTTP requests
	// get (auth.Authenticator.AuthenticateHeader). Errors wrapping auth.ErrUnauthenticated mean
	// bad credentials. Required.
	Authenticate func(ctx context.Context, authorization, addr string) (*auth.Principal, error)
	// AuthenticateRequest checks the upgrade request's credentials again (its Authorization
	// header or session cookie; auth.Authenticator.Authenticate) for a connection that sent none
	// in connection_init. Nil: the principal the HTTP middleware put in the upgrade request's
	// context is kept for the connection's life.
	AuthenticateRequest func(r *http.Request) (*auth.Principal, error)
	// RateLimiter counts every operation a connection starts against its caller, and failed
	// authentications against the client address, as for HTTP requests; nil: no limit.
	RateLimiter *auth.RateLimiter
	// MaxSubscriptions bounds the subscriptions one connection holds at once; default 20.
	// (live.Hub bounds them per process.)
	MaxSubscriptions int
	// Recheck is how often an open connection's credentials are checked again; the connection
	// is closed once they fail (a revoked key). Default 1 minute. A member token's connection
	// is also closed when the token expires.
	Recheck time.Duration
	// InitTimeout is how long a client may take to send connection_init; default 10 seconds.
	InitTimeout time.Duration
	// PingInterval is how often the server pings; a client that has not answered within two
	// intervals is disconnected. Default 25 seconds.
	PingInterval time.Duration
	// WriteTimeout is how long one message may take to be written; a client that stopped
	// reading is disconnected after it. Default 10 seconds.
	WriteTimeout time.Duration
	// MaxMessageBytes is the largest message a client may send; default 1 MiB.
	MaxMessageBytes int64
	// Stop closes every connection when it ends (the server shuts down; clients reconnect,
	// to another replica); nil: never.
	Stop context.Context
	// Open, when set, counts the connections being served: each is added when its upgrade
	// request arrives and done once it is closed (its close frame sent), so a server that ends
	// Stop can wait for them before it exits.
	Open *sync.WaitGroup
	// Log receives connection errors; nil: the resolver's logger.
	Log hclog.Logger
}

func (o LiveOptions) withDefaults() LiveOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 20
	}
	def(&o.Recheck, time.Minute)
	def(&o.InitTimeout, 10*time.Second)
	def(&o.PingInterval, 25*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 1 << 20
	}
	return o
}

// campaignInterval is the shortest time between two messages of a campaign subscription: a
// busy campaign's figures change with every event.
const campaignInterval = time.Second

// WebSocket close codes of the graphql-transport-ws protocol used when connection_init fails.
const (
	closeBadRequest      = 4400
	closeForbidden       = 4403
	closeTooManyRequests = 4429
	closeInternal        = 4500
)

// wsConn is one WebSocket connection's state, put in the upgrade request's context.
type wsConn struct {
	opts *LiveOptions
	// upgrade is the upgrade request, header its Authorization header, addr the client's
	// address.
	upgrade      *http.Request
	header, addr string

	mu sync.Mutex
	// sent is the Authorization value of connection_init's payload ("" when the connection
	// uses the upgrade request's credentials); principal is who the connection was at
	// connection_init.
	sent      string
	principal *auth.Principal
	subs      int
	cancel    context.CancelFunc
}

type wsConnKey struct{}

func connOf(ctx context.Context) *wsConn {
	c, _ := ctx.Value(wsConnKey{}).(*wsConn)
	return c
}

// withConn gives every upgrade request a connection state.
func (o *LiveOptions) withConn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			addr, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				addr = r.RemoteAddr
			}
			c := &wsConn{opts: o, upgrade: r, header: r.Header.Get("Authorization"), addr: addr}
			r = r.WithContext(context.WithValue(r.Context(), wsConnKey{}, c))
			if o.Open != nil {
				o.Open.Add(1)
				defer o.Open.Done()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// transport is the WebSocket transport: gqlgen's, checking credentials at connection_init.
func (o *LiveOptions) transport() transport.Websocket {
	limit := o.MaxMessageBytes
	return transport.Websocket{
		Implementation:   wsImplementation{writeTimeout: o.WriteTimeout},
		InitFunc:         o.init,
		InitTimeout:      o.InitTimeout,
		PingPongInterval: o.PingInterval,
		// The legacy subscriptions-transport-ws protocol keeps connections alive this way.
		KeepAlivePingInterval: o.PingInterval,
		PayloadReadLimit:      &limit,
		CloseFunc: func(ctx context.Context, _ int) {
			if c := connOf(ctx); c != nil {
				c.mu.Lock()
				cancel := c.cancel
				c.mu.Unlock()
				if cancel != nil {
					cancel()
				}
			}
		},
		ErrorFunc: func(_ context.Context, err error) {
			o.Log.Debug("websocket", "error", err)
		},
	}
}

// refuse ends connection_init with a close code and reason (at most 123 bytes).
func refuse(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(transport.AppendCloseReason(ctx, reason), code)
	return ctx, nil, errors.New(reason)
}

// init checks the connection's credentials: connection_init's payload {"Authorization":
// "Bearer …"} and/or the upgrade request's Authorization header (the same one when both), or
// else what the HTTP middleware made of the upgrade request (a console session cookie, or an
// anonymous caller with the server's anonymous roles). A connection that holds no role at all
// is refused.
func (o *LiveOptions) init(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	c := connOf(ctx)
	if c == nil {
		return refuse(ctx, closeInternal, "Internal Server Error")
	}
	sent := ""
	for _, k := range []string{"Authorization", "authorization"} {
		if v, ok := payload[k]; ok {
			s, isString := v.(string)
			if !isString {
				return refuse(ctx, closeBadRequest, "Bad Request: connection_init payload.Authorization must be a string")
			}
			sent = s
		}
	}
	if sent != "" && c.header != "" && sent != c.header {
		return refuse(ctx, closeBadRequest, "Bad Request: the upgrade request and connection_init carry different credentials")
	}
	p := auth.FromContext(ctx)
	if sent == c.header {
		sent = "" // the upgrade request's credentials, checked by the HTTP middleware
	}
	if sent != "" {
		// The upgrade request carried none, so the HTTP middleware saw an anonymous caller.
		failKey := "fail:" + c.addr
		if o.RateLimiter.Exhausted(failKey) {
			return refuse(ctx, closeTooManyRequests, "Too many failed authentication attempts; retry later")
		}
		var err error
		if p, err = o.Authenticate(ctx, sent, c.addr); err != nil {
			if auth.IsUnauthenticated(err) {
				o.RateLimiter.Allow(failKey)
				return refuse(ctx, closeForbidden, "Forbidden: the API key or token is invalid, expired or revoked")
			}
			o.Log.Error("authentication unavailable", "error", err)
			return refuse(ctx, closeInternal, "Internal Server Error: authentication is unavailable; try again")
		}
	}
	if p == nil || len(p.Roles) == 0 {
		return refuse(ctx, closeForbidden, "Forbidden: send connection_init with {\"Authorization\": \"Bearer <API key or member token>\"}")
	}
	var cancel context.CancelFunc
	if !p.Expires.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, p.Expires)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	if o.Stop != nil {
		stop := context.AfterFunc(o.Stop, cancel)
		end := cancel
		cancel = func() { stop(); end() }
	}
	c.mu.Lock()
	c.sent, c.principal, c.cancel = sent, p, cancel
	c.mu.Unlock()
	if p.Authenticated() {
		go c.recheck(ctx)
	}
	return auth.WithPrincipal(ctx, p), nil, nil
}

// recheck checks the connection's credentials every Recheck until ctx ends, and ends the
// connection when they fail.
func (c *wsConn) recheck(ctx context.Context) {
	t := time.NewTicker(c.opts.Recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := c.authenticate(ctx); auth.IsUnauthenticated(err) {
				c.opts.Log.Debug("websocket credentials no longer valid; closing", "addr", c.addr)
				c.cancel()
				return
			}
		}
	}
}

// authenticate checks the connection's credentials again.
func (c *wsConn) authenticate(ctx context.Context) (*auth.Principal, error) {
	c.mu.Lock()
	sent, p := c.sent, c.principal
	c.mu.Unlock()
	switch {
	case sent != "":
		return c.opts.Authenticate(ctx, sent, c.addr)
	case c.opts.AuthenticateRequest != nil:
		return c.opts.AuthenticateRequest(c.upgrade.WithContext(ctx))
	}
	return p, nil
}

// acquire counts a subscription against the connection's maximum.
func (c *wsConn) acquire() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs >= c.opts.MaxSubscriptions {
		return false
	}
	c.subs++
	return true
}

func (c *wsConn) release() {
	c.mu.Lock()
	c.subs--
	c.mu.Unlock()
}

// liveOps runs every operation of a WebSocket connection like an HTTP request: it checks the
// connection's credentials again and puts them in the context for the authorisation table,
// applies the rate limit and the per-connection subscription limit, and gives the operation
// dataloaders of its own. Each message of a subscription gets fresh dataloaders too, and a
// message identical to the one before is not sent.
type liveOps struct{ r *Resolver }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = liveOps{}

func (liveOps) ExtensionName() string                   { return "LiveUpdates" }
func (liveOps) Validate(graphql.ExecutableSchema) error { return nil }

// refuseOperation ends an operation before it runs: the client gets an error message (the
// protocol's answer to a subscribe that fails before execution) and nothing else.
func refuseOperation(ctx context.Context, code model.ErrorCode, msg string) graphql.ResponseHandler {
	transport.AddSubscriptionError(ctx, &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}})
	return func(context.Context) *graphql.Response { return nil }
}

func (l liveOps) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	c := connOf(ctx)
	if c == nil {
		return next(ctx)
	}
	p, err := c.authenticate(ctx)
	switch {
	case auth.IsUnauthenticated(err):
		return refuseOperation(ctx, model.ErrorCodeUnauthenticated, "the API key or token is invalid, expired or revoked")
	case err != nil:
		c.opts.Log.Error("authentication unavailable", "error", err)
		return refuseOperation(ctx, model.ErrorCodeInternal, "authentication is unavailable; try again")
	}
	if ok, wait := c.opts.RateLimiter.Allow(p.RateKey); !ok {
		return refuseOperation(ctx, model.ErrorCodeRateLimited,
			fmt.Sprintf("too many requests for these credentials; retry in %s", wait.Round(time.Millisecond)))
	}
	ctx = auth.WithPrincipal(ctx, p)
	ctx = context.WithValue(ctx, loadersKey{}, newLoaders(l.r))
	if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		if !c.acquire() {
			return refuseOperation(ctx, model.ErrorCodeTooManySubscriptions,
				fmt.Sprintf("this connection holds %d subscriptions, the most allowed; complete one first", c.opts.MaxSubscriptions))
		}
		context.AfterFunc(ctx, c.release)
		st := &subscription{ack: make(chan struct{}, 1)}
		if fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Subscription"}); len(fields) == 1 {
			st.root = &graphql.FieldContext{Object: "Subscription", Field: fields[0], IsMethod: true, IsResolver: true}
		}
		ctx = context.WithValue(ctx, subscriptionKey{}, st)
	}
	return next(ctx)
}

// subscription is one subscription's state between its stream (follow) and its messages
// (InterceptResponse).
//
// gqlgen resolves each message's fields in the context of the message, which lacks the
// subscription's root field: root is that field, given to each message's fields as their
// parent, with the value being sent as its Result (so the authorizer finds whose data a
// member token reads, and errors have their full path). follow sets Result before sending a
// value and waits for ack, sent once the message is written, before setting it again.
type subscription struct {
	root *graphql.FieldContext
	ack  chan struct{}
	// body is the last message sent (sent: one was).
	sent bool
	body []byte
}

type subscriptionKey struct{}

func subscriptionOf(ctx context.Context) *subscription {
	st, _ := ctx.Value(subscriptionKey{}).(*subscription)
	return st
}

func (l liveOps) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	st := subscriptionOf(ctx)
	if st == nil {
		return next(ctx)
	}
	for {
		mctx := context.WithValue(ctx, loadersKey{}, newLoaders(l.r))
		if st.root != nil {
			mctx = graphql.WithFieldContext(mctx, st.root)
		}
		resp := next(mctx)
		select {
		case st.ack <- struct{}{}:
		default:
		}
		if resp == nil || ctx.Err() != nil {
			// Ended (completed by the client, or the connection closed) while this message was
			// read: its fields may have failed for that reason alone.
			return nil
		}
		body, err := json.Marshal(resp)
		if err != nil || !st.sent || !bytes.Equal(body, st.body) {
			st.sent, st.body = true, body
			return resp
		}
	}
}

// follow is a subscription's stream: read's result now, and again after every change of topic
// (at most once per interval), until ctx ends or read reports the last value. The first read
// happens after subscribing, so no change is missed, and its error is the subscription's.
func follow[T any](ctx context.Context, r *Resolver, topic live.Topic, interval time.Duration,
	read func(context.Context) (T, bool, error)) (<-chan T, error) {
	if r.Live == nil {
		return nil, errDisabled("live updates are off on this server")
	}
	sub, err := r.Live.Subscribe(topic)
	if err != nil {
		return nil, err
	}
	v, last, err := read(ctx)
	if err != nil {
		sub.Close()
		return nil, err
	}
	st := subscriptionOf(ctx)
	out := make(chan T)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			if st != nil && st.root != nil {
				st.root.Result = v
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
			if st != nil {
				select {
				case <-st.ack:
				case <-ctx.Done():
					return
				}
			}
			if last {
				return
			}
			if interval > 0 {
				select {
				case <-time.After(interval):
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-sub.Changed():
			case <-ctx.Done():
				return
			}
			if v, last, err = read(ctx); err != nil {
				if ctx.Err() == nil {
					log := r.Log
					if log == nil {
						log = hclog.NewNullLogger()
					}
					transport.AddSubscriptionError(ctx, ErrorPresenter(log)(ctx, err))
				}
				return
			}
		}
	}()
	return out, nil
}
