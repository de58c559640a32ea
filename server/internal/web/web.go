// Package web wires Promogate's HTTP surface: the GraphQL endpoint, the embedded explorer, the
// marketing console, and the health and readiness probes.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/server/internal/explorer"
	"github.com/promogate/promogate/server/telemetry"
)

// Routes are the handlers the HTTP server mounts.
type Routes struct {
	// GraphQL serves POST and GET /graphql.
	GraphQL http.Handler
	// Ready is /readyz's check (db.Ready): nil when the server can serve. Its error goes to the
	// log, never to the caller.
	Ready func(context.Context) error
	// Log receives the reasons /readyz is not ready.
	Log hclog.Logger
	// Extra handlers mounted as-is (e.g. "/metrics").
	Extra map[string]http.Handler
	// MaxBodyBytes caps request bodies on /graphql; 0 means 1 MiB. A larger body is answered
	// 413 with the GraphQL error code REQUEST_TOO_LARGE.
	MaxBodyBytes int64
	// Auth wraps /graphql to authenticate callers (see Authenticate); nil leaves every caller
	// anonymous. The explorer and the probes are always open.
	Auth func(http.Handler) http.Handler
	// CORS says which other origins' pages may call /graphql.
	CORS CORS
	// Console serves the marketing console under /console/ (package console); nil leaves it out.
	Console http.Handler
	// Telemetry counts, times and logs every request (nil: none of that).
	Telemetry *telemetry.HTTP
}

// Handler returns the mux: /graphql, / (explorer), /console/ (the marketing console), /healthz
// (the process is up), /readyz (see Routes.Ready).
func Handler(r Routes) http.Handler {
	mux := http.NewServeMux()
	limit := r.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	var gql http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.ContentLength > limit {
			WriteGraphQLError(w, req, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE",
				fmt.Sprintf("the request body is larger than %d bytes", limit))
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, limit)
		r.GraphQL.ServeHTTP(w, req)
	})
	if r.Auth != nil {
		gql = r.Auth(gql)
	}
	mux.Handle("/graphql", r.CORS.Handler(gql))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		if err := r.Ready(req.Context()); err != nil {
			r.Log.Warn("not ready", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	for path, h := range r.Extra {
		mux.Handle(path, h)
	}
	if r.Console != nil {
		mux.Handle("/console/", r.Console)
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	mux.Handle("/", explorer.Handler("/graphql"))
	if r.Telemetry != nil {
		return r.Telemetry.Handler(mux)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
