package scheduler

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the scheduler's passes, exported at /metrics as
// promogate_scheduler_passes_total{result="ok"|"error"}. A pass that completed after a change
// (say, of the clock) began after it only if at least two passes completed since: tests wait on
// that counter instead of sleeping.
type Metrics struct {
	passes *prometheus.CounterVec
}

// NewMetrics creates the scheduler metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{passes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promogate_scheduler_passes_total",
		Help: "Scheduler passes completed by this replica, by result (ok, error).",
	}, []string{"result"})}
	m.passes.WithLabelValues("ok")
	m.passes.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.passes)
	}
	return m
}

func (m *Metrics) pass(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.passes.WithLabelValues(result).Inc()
}
