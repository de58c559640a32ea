package live

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL notification channel the database triggers notify on.
const Channel = "promogate_live"

// payloadKinds names the kinds in notification payloads: a payload is a kind, a space and
// space-separated ids ("member 12 40"), as the trigger functions of the live_notify migration
// write it.
var payloadKinds = map[string]Kind{
	"member":   KindMember,
	"event":    KindEvent,
	"campaign": KindCampaign,
}

// Listener keeps one connection to PostgreSQL listening on Channel and publishes every
// notification to Hub. It reconnects after a lost connection (waiting from MinBackoff, doubled
// up to MaxBackoff) and then signals every subscription, since what was committed meanwhile
// was not heard.
type Listener struct {
	// URL is the database URL (postgres://…), as given to db.Open.
	URL string
	Hub *Hub
	Log hclog.Logger
	// MinBackoff and MaxBackoff bound the wait before reconnecting; defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration

	listening atomic.Bool
	mu        sync.Mutex
	waiters   []chan struct{}
	received  atomic.Int64
}

// Listening reports whether the connection is up and listening now.
func (l *Listener) Listening() bool { return l.listening.Load() }

// Received returns how many notifications have been received since the start.
func (l *Listener) Received() int64 { return l.received.Load() }

// WaitListening returns a channel closed once the listener listens (at once when it does).
func (l *Listener) WaitListening() <-chan struct{} {
	ch := make(chan struct{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listening.Load() {
		close(ch)
	} else {
		l.waiters = append(l.waiters, ch)
	}
	return ch
}

func (l *Listener) setListening(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listening.Store(on)
	if on {
		for _, ch := range l.waiters {
			close(ch)
		}
		l.waiters = nil
	}
}

// Run listens until ctx is done.
func (l *Listener) Run(ctx context.Context) {
	log := l.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	minWait, maxWait := l.MinBackoff, l.MaxBackoff
	if minWait <= 0 {
		minWait = 100 * time.Millisecond
	}
	if maxWait < minWait {
		maxWait = max(5*time.Second, minWait)
	}
	wait := minWait
	for first := true; ; first = false {
		err := l.listen(ctx, log, !first, func() { wait = minWait })
		l.setListening(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("live updates: listening connection lost; reconnecting", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// listen connects, listens and publishes notifications until the connection fails or ctx is
// done. After a reconnection it signals every subscription first.
func (l *Listener) listen(ctx context.Context, log hclog.Logger, reconnect bool, connected func()) error {
	cfg, err := pgx.ParseConfig(l.URL)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = "promogate-live"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	connected()
	l.setListening(true)
	if reconnect {
		log.Info("live updates: listening again; every subscriber reads its state anew")
		l.Hub.PublishAll()
	} else {
		log.Debug("live updates: listening", "channel", Channel)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.received.Add(1)
		if err := l.dispatch(n.Payload); err != nil {
			log.Warn("live updates: notification ignored", "payload", n.Payload, "error", err)
		}
	}
}

// dispatch publishes one notification's payload.
func (l *Listener) dispatch(payload string) error {
	name, ids, _ := strings.Cut(payload, " ")
	kind, ok := payloadKinds[name]
	if !ok {
		return errors.New("unknown kind")
	}
	for s := range strings.FieldsSeq(ids) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		l.Hub.Publish(Topic{kind, id})
	}
	return nil
}
