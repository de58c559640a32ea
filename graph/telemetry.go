package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/telemetry"
)

// Telemetry counts and times GraphQL operations by name, type and outcome (the first error's
// code, or "ok"), and fills in the request's access-log record (telemetry.Request). Install it
// with HandlerOptions.Telemetry.
type Telemetry struct {
	operations *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	names      telemetry.Names
}

// NewTelemetry creates the GraphQL metrics and registers them with reg.
func NewTelemetry(reg prometheus.Registerer) *Telemetry {
	t := &Telemetry{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promogate_graphql_operations_total",
			Help: "Executed GraphQL operations by operation name, type and outcome (ok or the first error's code).",
		}, []string{"operation", "type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promogate_graphql_operation_duration_seconds",
			Help:    "Latency of executed GraphQL queries and mutations by operation name and type.",
			Buckets: telemetry.DurationBuckets,
		}, []string{"operation", "type"}),
		names: telemetry.Names{Max: 500},
	}
	reg.MustRegister(t.operations, t.duration)
	return t
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*Telemetry)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*Telemetry) ExtensionName() string { return "Telemetry" }

// Validate implements graphql.HandlerExtension.
func (*Telemetry) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor.
func (t *Telemetry) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	name, label := operationName(oc)
	typ := "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome = "error"
		if c, ok := resp.Errors[0].Extensions["code"].(string); ok {
			outcome = c
		}
	}
	label = t.names.Label(label)
	t.operations.WithLabelValues(label, typ, outcome).Inc()
	if typ != "subscription" && !oc.Stats.OperationStart.IsZero() {
		t.duration.WithLabelValues(label, typ).Observe(time.Since(oc.Stats.OperationStart).Seconds())
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetName("graphql " + typ + " " + name)
		span.SetAttributes(attribute.String("graphql.operation.name", name), attribute.String("graphql.operation.type", typ),
			attribute.String("promogate.outcome", outcome))
	}
	if rec := telemetry.RequestFrom(ctx); rec != nil {
		rec.Operation, rec.Type, rec.Role = name, typ, rolesOf(auth.FromContext(ctx))
		if outcome != "ok" {
			rec.Code = outcome
		}
	}
	return resp
}

// operationName is the operation's name for logs and its label for metrics: unnamed
// operations are logged by their first root field ("{ member }" is "anonymous member") and
// counted as "anonymous".
func operationName(oc *graphql.OperationContext) (name, label string) {
	if oc.OperationName != "" {
		return oc.OperationName, oc.OperationName
	}
	if oc.Operation != nil && oc.Operation.Name != "" {
		return oc.Operation.Name, oc.Operation.Name
	}
	if oc.Operation != nil {
		for _, s := range oc.Operation.SelectionSet {
			if f, ok := s.(*ast.Field); ok {
				return "anonymous " + f.Name, "anonymous"
			}
		}
	}
	return "anonymous", "anonymous"
}
