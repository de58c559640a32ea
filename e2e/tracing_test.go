package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSpan is what TestTraceFollowsAnEvent needs of an exported span.
type otlpSpan struct {
	name, trace, id, parent string
}

// otlpReceiver is an OTLP/HTTP trace endpoint that keeps every span it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []otlpSpan
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				o.spans = append(o.spans, otlpSpan{name: s.GetName(), trace: hex.EncodeToString(s.GetTraceId()),
					id: hex.EncodeToString(s.GetSpanId()), parent: hex.EncodeToString(s.GetParentSpanId())})
			}
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// inTrace returns the spans of trace id received so far.
func (o *otlpReceiver) inTrace(id string) []otlpSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []otlpSpan
	for _, s := range o.spans {
		if s.trace == id {
			out = append(out, s)
		}
	}
	return out
}

// TestTraceFollowsAnEvent sends one event with a W3C traceparent to a core exporting traces
// over OTLP and checks that one trace follows it from the HTTP request through the engine and
// the plugin call to the database commit, under the caller's span.
func TestTraceFollowsAnEvent(t *testing.T) {
	recv := &otlpReceiver{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // export every 100 ms
	c := startCore(t, newDatabase(t), append(clock2021, "--otlp-endpoint", srv.URL)...)
	c.setup(t, "shop", 1)
	path, sum := pluginBinary(t, "plugins/examples/weekenddouble", "weekenddouble")
	data(t, c.register(t, "weekenddouble", "1.0.0", path, sum))
	c.campaign(t, "weekend", "shop", "weekenddouble", "1.0.0",
		map[string]any{"pointsPerUnit": 1, "unitAmount": 100, "weekendMultiplier": 2, "eventType": "purchase", "expiresInDays": 365})

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	headers := bearer(adminKey)
	headers["traceparent"] = "00-" + traceID + "-" + callerSpan + "-01"
	status, _, body := c.request(headers, gqlBody(`mutation TracedPurchase($in: EventInput!) { recordEvent(input: $in) { event { status } } }`,
		map[string]any{"in": map[string]any{"type": "purchase", "memberRef": "m1", "source": "shop", "externalId": "traced-1",
			"occurredAt": "2021-04-12T10:00:00+03:00", "attributes": map[string]any{"amount": 500}}}))
	if status != http.StatusOK || !strings.Contains(body, `"status":"DONE"`) {
		t.Fatalf("recordEvent: HTTP %d %s", status, body)
	}
	want := []string{"graphql mutation TracedPurchase", "engine.Record", "engine.recordBatch", "engine.process",
		"/Evaluate", "db.transaction"}
	var spans []otlpSpan
	waitFor(t, "the event's spans", func() bool {
		spans = recv.inTrace(traceID)
		for _, w := range want {
			found := false
			for _, s := range spans {
				found = found || strings.HasSuffix(s.name, w)
			}
			if !found {
				return false
			}
		}
		return true
	})
	byID := map[string]otlpSpan{}
	for _, s := range spans {
		byID[s.id] = s
	}
	// Every span descends from the caller's span, through spans of this trace.
	for _, s := range spans {
		cur, hops := s, 0
		for cur.parent != callerSpan {
			p, ok := byID[cur.parent]
			if !ok || hops > 20 {
				t.Fatalf("span %q does not descend from the caller's span (parent %s); spans: %v", s.name, cur.parent, spans)
			}
			cur, hops = p, hops+1
		}
	}
}
