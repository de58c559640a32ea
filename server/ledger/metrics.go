package ledger

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
)

// Metrics count committed ledger transactions and the points they moved, by programme id and
// kind (earn: issued, redeem: spent, expire, adjust, reverse). Replays of an idempotency key
// are not counted again.
type Metrics struct {
	transactions *prometheus.CounterVec
	points       *prometheus.CounterVec
}

// NewMetrics creates the ledger metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_ledger_transactions_total",
			Help: "Committed ledger transactions by programme id and kind (earn, redeem, expire, adjust, reverse).",
		}, []string{"program_id", "kind"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_ledger_points_total",
			Help: "Points moved by committed ledger transactions (absolute values) by programme id and kind: earn is points issued, redeem points spent.",
		}, []string{"program_id", "kind"}),
	}
	reg.MustRegister(m.transactions, m.points)
	return m
}

// SetMetrics makes l count its committed transactions in m. Call it before l is used.
func (l *Ledger) SetMetrics(m *Metrics) { l.metrics = m }

// counted counts ts once the transaction writing them commits.
func (l *Ledger) counted(ctx context.Context, ts ...*Transaction) {
	if l.metrics == nil {
		return
	}
	db.AfterCommit(ctx, func() {
		for _, t := range ts {
			if t == nil || t.Replayed {
				continue
			}
			labels := []string{strconv.FormatInt(t.ProgramID, 10), string(t.Kind)}
			l.metrics.transactions.WithLabelValues(labels...).Inc()
			points := t.Points
			if points < 0 {
				points = -points
			}
			l.metrics.points.WithLabelValues(labels...).Add(float64(points))
		}
	})
}
