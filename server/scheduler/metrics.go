package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/server/telemetry"
)

// Metrics are the scheduler's: passes and their duration, the lag of hook runs behind their due
// time, and tick pages applied. A pass that completed after a change (say, of the clock) began
// after it only if at least two passes completed since: tests wait on
// promogate_scheduler_passes_total instead of sleeping.
type Metrics struct {
	passes   *prometheus.CounterVec
	duration prometheus.Histogram
	lastPass prometheus.Gauge
	lag      prometheus.Histogram
	pages    prometheus.Counter
}

// NewMetrics creates the scheduler metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_scheduler_passes_total",
			Help: "Scheduler passes by result (ok, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "promogate_scheduler_pass_duration_seconds", Help: "Duration of scheduler passes.",
			Buckets: telemetry.DurationBuckets,
		}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "promogate_scheduler_last_pass_timestamp_seconds", Help: "Wall-clock time the last scheduler pass ended (Unix seconds).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "promogate_scheduler_hook_lag_seconds", Help: "How long after its due time (programme clock) a campaign hook run started or resumed.",
			Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400},
		}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "promogate_scheduler_tick_pages_total", Help: "Pages of participants evaluated and applied by campaign hook runs.",
		}),
	}
	// Present from the start, at zero, so alerts on them work before anything fails.
	m.passes.WithLabelValues("ok")
	m.passes.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.passes, m.duration, m.lastPass, m.lag, m.pages)
	}
	return m
}

func (m *Metrics) pass(start time.Time, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.passes.WithLabelValues(result).Inc()
	m.duration.Observe(time.Since(start).Seconds())
	m.lastPass.SetToCurrentTime()
}

func (m *Metrics) hookLag(d time.Duration) {
	if m != nil {
		m.lag.Observe(max(d, 0).Seconds())
	}
}

func (m *Metrics) page() {
	if m != nil {
		m.pages.Inc()
	}
}
