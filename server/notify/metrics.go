package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"
)

// Metrics count the dispatcher's delivery attempts by outcome (delivered, retry, failed).
type Metrics struct {
	attempts *prometheus.CounterVec
}

// NewMetrics creates the outbox metrics and registers them with reg, with a collector of the
// pending notifications in bdb (promogate_outbox_pending and the age of the oldest), which
// every replica reports whether or not it delivers.
func NewMetrics(reg prometheus.Registerer, bdb *bun.DB, now func() time.Time) *Metrics {
	m := &Metrics{attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promogate_outbox_attempts_total",
		Help: "Webhook delivery attempts recorded by this replica, by outcome (delivered, retry, failed).",
	}, []string{"outcome"})}
	for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeFailed} {
		m.attempts.WithLabelValues(o)
	}
	reg.MustRegister(m.attempts, &outbox{db: bdb, now: now,
		pending: prometheus.NewDesc("promogate_outbox_pending", "Notifications waiting for delivery.", nil, nil),
		oldest:  prometheus.NewDesc("promogate_outbox_oldest_pending_age_seconds", "Age of the oldest pending notification (0 when none).", nil, nil),
	})
	return m
}

// SetMetrics makes d count its attempts in m. Call it before Run.
func (d *Dispatcher) SetMetrics(m *Metrics) { d.metrics = m }

func (m *Metrics) attempt(outcome string) {
	if m != nil {
		m.attempts.WithLabelValues(outcome).Inc()
	}
}

// outbox collects the pending notifications at each scrape (one index scan of the pending ones).
type outbox struct {
	db              *bun.DB
	now             func() time.Time
	pending, oldest *prometheus.Desc
}

func (o *outbox) Describe(ch chan<- *prometheus.Desc) {
	ch <- o.pending
	ch <- o.oldest
}

func (o *outbox) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	var oldest *time.Time
	if err := o.db.NewRaw(`SELECT count(*), min(created_at) FROM notifications WHERE status = 'pending'`).Scan(ctx, &n, &oldest); err != nil {
		ch <- prometheus.NewInvalidMetric(o.pending, err)
		return
	}
	age := 0.0
	if oldest != nil {
		age = max(o.now().Sub(*oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(o.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(o.oldest, prometheus.GaugeValue, age)
}
