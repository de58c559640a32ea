package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// wsImplementation accepts WebSocket connections for gqlgen's transport with
// github.com/coder/websocket, like gqlgen's own adapter, except that every write has a
// deadline: a client that stops reading is disconnected instead of holding the connection's
// writers (and their subscriptions' goroutines) forever. Origins are not checked here:
// web.CORS refuses upgrade requests from origins it does not allow.
type wsImplementation struct {
	writeTimeout time.Duration
}

var _ transport.WebsocketImplementation = wsImplementation{}

func (i wsImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range opts.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: opts.Subprotocols, InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	return &wsConnection{c: c, writeTimeout: i.writeTimeout}, nil
}

// wsConnection is one accepted connection.
type wsConnection struct {
	c            *websocket.Conn
	writeTimeout time.Duration

	mu       sync.Mutex
	deadline *time.Timer
	closing  bool
}

var (
	_ transport.WebsocketReadLimiter   = (*wsConnection)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConnection)(nil)
)

func (c *wsConnection) NextReader() (int, io.Reader, error) {
	typ, data, err := c.c.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(data), nil
}

func (c *wsConnection) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.writeTimeout)
	defer cancel()
	// On timeout the library closes the connection, which ends the read loop and with it
	// every subscription of the connection.
	return c.c.Write(ctx, websocket.MessageText, data)
}

// WriteClose starts the closing handshake in the background (it waits up to 5 seconds for
// the client's answer), so the transport's teardown never waits for a slow client.
func (c *wsConnection) WriteClose(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if c.closing {
		return nil
	}
	c.closing = true
	go c.c.Close(websocket.StatusCode(code), reason)
	return nil
}

func (c *wsConnection) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if c.closing {
		return nil // the closing handshake closes the connection
	}
	return c.c.CloseNow()
}

func (c *wsConnection) Subprotocol() string { return c.c.Subprotocol() }

func (c *wsConnection) SetReadLimit(n int64) { c.c.SetReadLimit(n) }

// SetReadDeadline closes the connection at t unless called again before (the transport's
// ping and pong).
func (c *wsConnection) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if t.IsZero() {
		return nil
	}
	c.deadline = time.AfterFunc(time.Until(t), func() { _ = c.c.CloseNow() })
	return nil
}

func (c *wsConnection) stopDeadline() {
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
}
