package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/promogate/promogate/db"
)

// Config configures a Dispatcher. Zero durations and counts take the defaults shown.
type Config struct {
	// URL is the webhook every notification is POSTed to. Empty disables delivery: Run only
	// waits for its context and notifications stay pending.
	URL string
	// Secret keys the X-Promogate-Signature HMAC. Empty sends no signature header.
	Secret []byte
	// Timeout bounds one attempt: connecting, sending and reading the answer (5s).
	Timeout time.Duration
	// MaxAttempts is how many attempts a notification gets before it fails (12).
	MaxAttempts int
	// BackoffMin and BackoffMax bound the jittered exponential delay between attempts (1s, 5m).
	BackoffMin, BackoffMax time.Duration
	// BatchSize is how many due notifications one RunOnce claims and sends concurrently (100).
	BatchSize int
	// PollInterval is how often Run looks for due notifications (500ms).
	PollInterval time.Duration
	// Lease is how long a claim holds a notification before another dispatcher may take it
	// over (30s); it is raised to at least twice Timeout.
	Lease time.Duration
}

// Defaults of Config.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultMaxAttempts  = 12
	DefaultBackoffMin   = time.Second
	DefaultBackoffMax   = 5 * time.Minute
	DefaultBatchSize    = 100
	DefaultPollInterval = 500 * time.Millisecond
	DefaultLease        = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffMin)
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	c.Lease = max(c.Lease, 2*c.Timeout)
	return c
}

// Validate reports whether c.URL, when set, is an absolute http or https URL with a host.
func (c Config) Validate() error {
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("notify: webhook URL: %w", unwrapURLError(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify: webhook URL must be an absolute http or https URL")
	}
	return nil
}

// backoff returns the delay before the attempt after attempt number attempt: BackoffMin doubled
// per attempt, capped at BackoffMax, jittered down by up to half, never below BackoffMin nor
// below a Retry-After the webhook asked for (itself capped at BackoffMax).
func (c Config) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.BackoffMin << min(max(attempt-1, 0), 40)
	if d <= 0 || d > c.BackoffMax {
		d = c.BackoffMax
	}
	half := d / 2
	d = half + rand.N(d-half+1)
	d = max(d, c.BackoffMin, min(retryAfter, c.BackoffMax))
	return d
}

// Dispatcher delivers pending notifications to the configured webhook. It is safe for
// concurrent use, and several dispatchers (core replicas) may share one database.
type Dispatcher struct {
	db        *db.DB
	cfg       Config
	client    *http.Client
	log       hclog.Logger
	now       func() time.Time
	urlErr    error         // cfg.Validate()
	recording chan struct{} // bounds the attempts being recorded at once
	metrics   *Metrics      // nil: not counted
}

// maxRecording is how many attempts one dispatcher records at once, so that a large batch does
// not take the whole connection pool from the rest of the core.
const maxRecording = 4

// NewDispatcher returns a dispatcher that delivers the notifications in bdb to cfg.URL with
// client, logs to log and reads the time from now. A nil client means one that does not follow
// redirects (a 3xx answer then fails the notification); a nil log discards; a nil now is
// time.Now.
func NewDispatcher(bdb *db.DB, cfg Config, client *http.Client, log hclog.Logger, now func() time.Time) *Dispatcher {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if now == nil {
		now = time.Now
	}
	return &Dispatcher{db: bdb, cfg: cfg.withDefaults(), client: client, log: log, now: now, urlErr: cfg.Validate(),
		recording: make(chan struct{}, maxRecording)}
}

// Run delivers due notifications every PollInterval (draining full batches at once) until ctx
// is done. Without a URL, or with an invalid one, it logs why once and only waits for ctx:
// notifications then stay pending until a dispatcher with a webhook runs.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.cfg.URL == "" {
		d.log.Warn("no webhook URL configured: notifications are stored but not delivered")
		<-ctx.Done()
		return
	}
	if d.urlErr != nil {
		d.log.Error("notifications are not delivered", "error", d.urlErr)
		<-ctx.Done()
		return
	}
	if len(d.cfg.Secret) == 0 {
		d.log.Warn("no webhook secret configured: notifications are sent unsigned")
	}
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := d.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Error("notification dispatcher", "error", err)
				}
				break
			}
			if n < d.cfg.BatchSize {
				break
			}
		}
	}
}

// RunOnce claims up to BatchSize due pending notifications (FOR UPDATE SKIP LOCKED, leased for
// Lease, each claim taking the next attempt number), POSTs them concurrently, records each
// attempt in the delivery log and the notification's new status, and returns how many it
// claimed. Errors: ErrNoWebhook, the error of Config.Validate for an invalid URL (nothing is
// claimed then), and database failures (a claimed notification whose attempt could not be
// recorded is taken up again when its lease expires).
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	if d.cfg.URL == "" {
		return 0, ErrNoWebhook
	}
	if d.urlErr != nil {
		return 0, d.urlErr
	}
	now := d.now().UTC()
	var claimed []Notification
	rows, err := db.PG(d.db).Query(ctx, `UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1
		WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= $2
		             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING *`, now.Add(d.cfg.Lease), now, d.cfg.BatchSize)
	if err == nil {
		claimed, err = db.Collect[Notification](rows)
	}
	if err != nil {
		return 0, fmt.Errorf("notify: claim notifications: %w", err)
	}
	sort.Slice(claimed, func(i, j int) bool { return claimed[i].ID < claimed[j].ID })
	errs := make([]error, len(claimed))
	var wg sync.WaitGroup
	for i := range claimed {
		wg.Go(func() { errs[i] = d.attempt(ctx, &claimed[i]) })
	}
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// recordTimeout bounds recording an attempt, which goes on after ctx is cancelled so that an
// attempt made while the dispatcher stops is still logged.
const recordTimeout = 15 * time.Second

// attempt delivers the claimed notification n (n.Attempts is this attempt's number) and
// records the result.
func (d *Dispatcher) attempt(ctx context.Context, n *Notification) error {
	if n.Attempts > d.cfg.MaxAttempts {
		// The previous claim's attempt was never recorded (its dispatcher stopped during it), or
		// MaxAttempts was lowered: give up without sending.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		if err := d.hold(rctx); err != nil {
			return fmt.Errorf("notify: record notification %d: %w", n.ID, err)
		}
		defer d.release()
		msg := fmt.Sprintf("gave up: claim %d exceeds the %d attempts allowed", n.Attempts, d.cfg.MaxAttempts)
		if n.LastError != "" {
			msg += "; last error: " + n.LastError
		}
		_, err := db.PG(d.db).Exec(rctx, `UPDATE notifications SET status = 'failed', last_error = $1
			WHERE id = $2 AND status = 'pending' AND attempts = $3`, cleanError(msg), n.ID, n.Attempts)
		if err != nil {
			return fmt.Errorf("notify: record notification %d: %w", n.ID, err)
		}
		d.metrics.attempt(OutcomeFailed)
		d.log.Error("notification failed", "key", n.Key, "id", n.ID, "error", msg)
		return nil
	}
	r := d.post(ctx, n)
	return d.save(ctx, n, r)
}

// hold waits for one of the maxRecording slots; release frees it.
func (d *Dispatcher) hold(ctx context.Context) error {
	select {
	case d.recording <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Dispatcher) release() { <-d.recording }

// save writes attempt r of n to the delivery log and updates n. A retry or failure updates n
// only while this attempt is still n's latest claim; a delivery always marks it delivered.
func (d *Dispatcher) save(ctx context.Context, n *Notification, r attemptResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := d.hold(ctx); err != nil {
		return fmt.Errorf("notify: record attempt %d of notification %d: %w", n.Attempts, n.ID, err)
	}
	defer d.release()
	if r.outcome == OutcomeRetry && n.Attempts >= d.cfg.MaxAttempts {
		r.outcome = OutcomeFailed
		r.err += fmt.Sprintf(" (gave up after %d attempts)", n.Attempts)
	}
	r.err = cleanError(r.err)
	var statusCode *int
	if r.statusCode != 0 {
		statusCode = &r.statusCode
	}
	finished := d.now().UTC()
	next := finished.Add(d.cfg.backoff(n.Attempts, r.retryAfter))
	var updated int64
	err := db.RunInTx(ctx, d.db, func(ctx context.Context, tx db.Tx) error {
		pg := db.PG(tx)
		if _, err := pg.Exec(ctx, `INSERT INTO notification_deliveries
			(notification_id, attempt, started_at, duration_ms, status_code, error, outcome)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notification_id, attempt) DO NOTHING`,
			n.ID, n.Attempts, r.startedAt, r.duration.Milliseconds(), statusCode, r.err, r.outcome); err != nil {
			return err
		}
		var res pgconn.CommandTag
		var err error
		switch r.outcome {
		case OutcomeDelivered:
			res, err = pg.Exec(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = $1, last_error = ''
				WHERE id = $2 AND status <> 'delivered'`, finished, n.ID)
		case OutcomeRetry:
			res, err = pg.Exec(ctx, `UPDATE notifications SET next_attempt_at = $1, last_error = $2
				WHERE id = $3 AND status = 'pending' AND attempts = $4`, next, r.err, n.ID, n.Attempts)
		default:
			res, err = pg.Exec(ctx, `UPDATE notifications SET status = 'failed', last_error = $1
				WHERE id = $2 AND status = 'pending' AND attempts = $3`, r.err, n.ID, n.Attempts)
		}
		if err != nil {
			return err
		}
		updated = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: record attempt %d of notification %d: %w", n.Attempts, n.ID, err)
	}
	if updated > 0 {
		d.metrics.attempt(r.outcome)
	}
	args := []any{"key", n.Key, "id", n.ID, "attempt", n.Attempts, "duration", r.duration.String()}
	if r.statusCode != 0 {
		args = append(args, "status", r.statusCode)
	}
	switch {
	case updated == 0:
		d.log.Warn("notification attempt recorded, but a later claim owns the notification", append(args, "outcome", r.outcome, "error", r.err)...)
	case r.outcome == OutcomeDelivered:
		d.log.Debug("notification delivered", args...)
	case r.outcome == OutcomeRetry:
		d.log.Warn("notification delivery failed, will retry", append(args, "error", r.err, "next_attempt_at", next)...)
	default:
		d.log.Error("notification failed", append(args, "error", r.err)...)
	}
	return nil
}
