package pluginhost

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-plugin, per-method call counters and latency histograms exported at
// /metrics.
type Metrics struct {
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	host     atomic.Pointer[Host] // whose processes the state gauges report
	up       *prometheus.Desc
	failures *prometheus.Desc
}

// NewMetrics creates the plugin metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_plugin_calls_total",
			Help: "Calls to program plugins by plugin, version, method and result (ok, error, unavailable).",
		}, []string{"plugin", "version", "method", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promogate_plugin_call_duration_seconds",
			Help:    "Latency of calls to program plugins.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"plugin", "version", "method"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_plugin_restarts_total",
			Help: "Plugin processes started again after a failure.",
		}, []string{"plugin", "version"}),
		up: prometheus.NewDesc("promogate_plugin_up",
			"1 when the plugin version's process is running in this core, 0 when it is stopped or backing off after failures.",
			[]string{"plugin", "version", "state"}, nil),
		failures: prometheus.NewDesc("promogate_plugin_consecutive_failures",
			"Consecutive failures of the plugin version's process (0 after a good call).", []string{"plugin", "version"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.latency, m.restarts, (*processes)(m))
	}
	return m
}

// known makes the plugin version's restart counter exist at zero, so that alerts on restarts
// work before the first one.
func (m *Metrics) known(k Key) {
	m.restarts.WithLabelValues(k.Name, k.Version)
}

// processes reports the state of every plugin process this core has started or tried to.
type processes Metrics

func (p *processes) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.up
	ch <- p.failures
}

func (p *processes) Collect(ch chan<- prometheus.Metric) {
	h := p.host.Load()
	if h == nil {
		return
	}
	h.mu.Lock()
	procs := make([]*proc, 0, len(h.procs))
	for _, pr := range h.procs {
		if pr.lane == "" { // the processes of isolated lanes are not the plugin's service
			procs = append(procs, pr)
		}
	}
	h.mu.Unlock()
	for _, pr := range procs {
		health := pr.health()
		up := 0.0
		if health.State == "running" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(p.up, prometheus.GaugeValue, up, pr.key.Name, pr.key.Version, health.State)
		ch <- prometheus.MustNewConstMetric(p.failures, prometheus.GaugeValue, float64(health.ConsecutiveFailures), pr.key.Name, pr.key.Version)
	}
}

// instrumented wraps a Program with call counts and latency (a cross-cutting concern kept out
// of the call path's logic).
type instrumented struct {
	key  Key
	next Program
	m    *Metrics
}

var _ Program = (*instrumented)(nil)

func observe[T any](i *instrumented, method string, fn func() (T, error)) (T, error) {
	start := time.Now()
	out, err := fn()
	result := "ok"
	switch {
	case errors.Is(err, ErrUnavailable):
		result = "unavailable"
	case err != nil:
		result = "error"
	}
	i.m.calls.WithLabelValues(i.key.Name, i.key.Version, method, result).Inc()
	i.m.latency.WithLabelValues(i.key.Name, i.key.Version, method).Observe(time.Since(start).Seconds())
	return out, err
}

func (i *instrumented) Describe(ctx context.Context) (Description, error) {
	return observe(i, "Describe", func() (Description, error) { return i.next.Describe(ctx) })
}

func (i *instrumented) ValidateConfig(ctx context.Context, req ValidateConfigRequest) (ValidateConfigResponse, error) {
	return observe(i, "ValidateConfig", func() (ValidateConfigResponse, error) { return i.next.ValidateConfig(ctx, req) })
}

func (i *instrumented) CheckEligibility(ctx context.Context, req EligibilityRequest) (EligibilityResponse, error) {
	return observe(i, "CheckEligibility", func() (EligibilityResponse, error) { return i.next.CheckEligibility(ctx, req) })
}

func (i *instrumented) Evaluate(ctx context.Context, req EvaluateRequest) (EvaluateResponse, error) {
	return observe(i, "Evaluate", func() (EvaluateResponse, error) { return i.next.Evaluate(ctx, req) })
}

func (i *instrumented) Quote(ctx context.Context, req QuoteRequest) (QuoteResponse, error) {
	return observe(i, "Quote", func() (QuoteResponse, error) { return i.next.Quote(ctx, req) })
}

func (i *instrumented) Tick(ctx context.Context, req TickRequest) (TickResponse, error) {
	return observe(i, "Tick", func() (TickResponse, error) { return i.next.Tick(ctx, req) })
}
