// Package web wires Promogate's HTTP surface: the GraphQL endpoint, the embedded explorer, the
// marketing console, and the health and readiness probes.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/explorer"
)

// Routes are the handlers the HTTP server mounts.
type Routes struct {
	// GraphQL serves POST and GET /graphql.
	GraphQL http.Handler
	// DB is checked by /readyz.
	DB *bun.DB
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
}

// Handler returns the mux: /graphql, / (explorer), /console/ (the marketing console), /healthz (the process is up), /readyz (the
// database answers and every migration is applied).
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
		status, body := readiness(req.Context(), r.DB)
		writeJSON(w, status, body)
	})
	for path, h := range r.Extra {
		mux.Handle(path, h)
	}
	if r.Console != nil {
		mux.Handle("/console/", r.Console)
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	mux.Handle("/", explorer.Handler("/graphql"))
	return mux
}

func readiness(ctx context.Context, bdb *bun.DB) (int, map[string]any) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := bdb.PingContext(ctx); err != nil {
		return http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "database": err.Error()}
	}
	pending, err := db.PendingMigrations(ctx, bdb)
	if err != nil {
		return http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "migrations": err.Error()}
	}
	if len(pending) > 0 {
		return http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "pendingMigrations": pending}
	}
	return http.StatusOK, map[string]any{"status": "ready"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
