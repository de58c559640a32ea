// Package telemetry holds what operators watch across subsystems: the HTTP metrics and access
// log (this file), the per-request record the GraphQL layer fills in, and the helpers that keep
// metric labels bounded. Subsystems own their own metrics (engine, ledger, scheduler, notify,
// pluginhost); docs/operations.md lists them all.
package telemetry

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
)

// Request is what one HTTP request did, filled in by the layers it passes through (the
// GraphQL layer sets the operation and the caller's role) and logged when it ends.
type Request struct {
	// Operation is the GraphQL operation's name (or "anonymous", or the first root field when
	// unnamed); empty for other paths.
	Operation string
	// Type is query, mutation or subscription.
	Type string
	// Role is the caller's role ("anonymous" without credentials).
	Role string
	// Code is the first error code of a GraphQL response, empty when it had none.
	Code string
}

type requestKey struct{}

// RequestFrom returns the record of the request ctx belongs to, or nil outside one.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// HTTP counts and times requests by route and status, and writes one access log line per
// request. Routes are the mux patterns, so labels stay bounded whatever paths clients send.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	log      hclog.Logger
}

// DurationBuckets are the latency buckets (seconds) of Promogate's request and call histograms.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewHTTP creates the HTTP metrics, registers them with reg, and logs requests to log (the
// access log; nil logs nothing).
func NewHTTP(reg prometheus.Registerer, log hclog.Logger) *HTTP {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promogate_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: DurationBuckets,
		}, []string{"route"}),
		log: log,
	}
	reg.MustRegister(h.requests, h.duration)
	return h
}

// Handler instruments mux, an *http.ServeMux: the route label is the pattern the mux matched
// (such as "/graphql" or "GET /readyz"), so labels stay bounded whatever paths clients send.
func (h *HTTP) Handler(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &Request{}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, rec))
		mux.ServeHTTP(sw, r)
		route := r.Pattern // set by the ServeMux on the request it was given
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		status := strconv.Itoa(sw.status)
		h.requests.WithLabelValues(route, r.Method, status).Inc()
		h.duration.WithLabelValues(route).Observe(took.Seconds())
		if h.log == nil || route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" {
			return
		}
		args := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", took.Round(time.Microsecond).String(),
			"bytes", sw.bytes, "remote", r.RemoteAddr}
		if rec.Operation != "" {
			args = append(args, "operation", rec.Operation, "type", rec.Type)
		}
		if rec.Role != "" {
			args = append(args, "role", rec.Role)
		}
		if rec.Code != "" {
			args = append(args, "code", rec.Code)
		}
		h.log.Info("request", args...)
	})
}

// statusWriter remembers the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing, hijacking for
// WebSocket upgrades, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on, for streamed responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes a connection takeover on (WebSocket upgrades); the response is then 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("telemetry: the response writer cannot be hijacked")
	}
	w.status, w.wrote = http.StatusSwitchingProtocols, true
	return h.Hijack()
}
