package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/telemetry"
)

// Metrics count the dispatcher's delivery attempts by outcome (delivered, retry, failed).
type Metrics struct {
	attempts *prometheus.CounterVec
}

// NewMetrics creates the outbox metrics and registers them with reg, with a collector of the
// pending notifications in bdb (promogate_outbox_pending and the age of the oldest), which
// every replica reports whether or not it delivers.
func NewMetrics(reg prometheus.Registerer, bdb *db.DB, now func() time.Time) *Metrics {
	m := &Metrics{attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promogate_outbox_attempts_total",
		Help: "Webhook delivery attempts recorded by this replica, by outcome (delivered, retry, failed).",
	}, []string{"outcome"})}
	for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeFailed} {
		m.attempts.WithLabelValues(o)
	}
	reg.MustRegister(m.attempts, &telemetry.Backlog{DB: bdb, Now: now,
		Query: `SELECT count(*), min(created_at) FROM notifications WHERE status = 'pending'`,
		Count: prometheus.NewDesc("promogate_outbox_pending", "Notifications waiting for delivery.", nil, nil),
		Age:   prometheus.NewDesc("promogate_outbox_oldest_pending_age_seconds", "Age of the oldest pending notification (0 when none).", nil, nil),
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
