package engine

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/telemetry"
)

// Metrics count the events the engine records and decides. Install them with Options.Metrics;
// NewBacklog reports the events still waiting.
type Metrics struct {
	recorded *prometheus.CounterVec
	decided  *prometheus.CounterVec
	outcomes *prometheus.CounterVec
	beyond   prometheus.Counter
}

// NewMetrics creates the event metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_events_recorded_total",
			Help: "Events received by result: stored (new), duplicate (same source and external id, same input) or conflict (same key, other input).",
		}, []string{"result"}),
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_events_decided_total",
			Help: "Events whose evaluation finished, by outcome: applied (some campaign applied effects), no_effect (none did) or unrouted (no live campaign handles the type).",
		}, []string{"outcome"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_event_campaign_outcomes_total",
			Help: "Final campaign outcomes of decided events by status (applied, no_effect, rejected, failed).",
		}, []string{"status"}),
		beyond: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promogate_record_budget_exceeded_total",
			Help: "Campaigns a recordEvent(s) answer listed as waiting because their plugin had not answered within --record-budget (they are applied when it does).",
		}),
	}
	for _, r := range []string{"stored", "duplicate", "conflict"} {
		m.recorded.WithLabelValues(r)
	}
	for _, o := range []string{"applied", "no_effect", "unrouted"} {
		m.decided.WithLabelValues(o)
	}
	for _, s := range []string{OutcomeApplied, OutcomeNoEffect, OutcomeRejected, OutcomeFailed} {
		m.outcomes.WithLabelValues(s)
	}
	reg.MustRegister(m.recorded, m.decided, m.outcomes, m.beyond)
	return m
}

// beyondBudget counts n campaigns reported waiting because Record stopped waiting for them.
func (m *Metrics) beyondBudget(n int) {
	if m != nil && n > 0 {
		m.beyond.Add(float64(n))
	}
}

func (m *Metrics) record(result string, n int) {
	if m != nil && n > 0 {
		m.recorded.WithLabelValues(result).Add(float64(n))
	}
}

// decidedAfterCommit counts ev once the transaction that settled it commits, if it is done.
func (m *Metrics) decidedAfterCommit(ctx context.Context, ev *Event) {
	if m == nil || ev.Status != StatusDone || ev.Outcome == nil {
		return
	}
	out := ev.Outcome
	db.AfterCommit(ctx, func() {
		overall := "unrouted"
		if len(out.Campaigns) > 0 {
			overall = "no_effect"
		}
		for _, c := range out.Campaigns {
			m.outcomes.WithLabelValues(c.Status).Inc()
			if c.Status == OutcomeApplied {
				overall = "applied"
			}
		}
		m.decided.WithLabelValues(overall).Inc()
	})
}

// NewBacklog returns a collector of the events waiting for evaluation, as every replica sees
// them (promogate_events_waiting, promogate_events_oldest_waiting_age_seconds), read at each
// scrape with one scan of the pending events' index.
func NewBacklog(bdb *db.DB, now func() time.Time) prometheus.Collector {
	return &telemetry.Backlog{DB: bdb, Now: now,
		Query: `SELECT count(*), min(received_at) FROM events WHERE status = 'pending'`,
		Count: prometheus.NewDesc("promogate_events_waiting", "Events stored and not yet decided (pending: being evaluated or waiting for a plugin).", nil, nil),
		Age:   prometheus.NewDesc("promogate_events_oldest_waiting_age_seconds", "Age of the oldest pending event (0 when none).", nil, nil),
	}
}
