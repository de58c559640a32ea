// Package console serves the marketing console, the web application in ui/ built into dist/
// and embedded in the binary, at /console/, and its sign-in endpoint. The console talks only
// to the public GraphQL API, with the roles of the API key it signed in with; see
// docs/console.md and, for the session cookie, docs/security.md.
//
// dist/ is generated: `make console` rebuilds it from ui/ (Node.js is needed only for that),
// and CI checks that the committed files match the sources.
package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/server/auth"
	"github.com/promogate/promogate/server/internal/web"
)

// Prefix is the path the console is mounted under.
const Prefix = "/console/"

//go:embed dist
var dist embed.FS

// Sessions signs API keys in and out (auth.Store does).
type Sessions interface {
	Authenticate(ctx context.Context, key string) (*auth.APIKey, error)
	CreateSession(ctx context.Context, k *auth.APIKey) (string, *auth.Session, error)
	DeleteSession(ctx context.Context, token string) error
}

// Options configure Handler.
type Options struct {
	Sessions Sessions
	// Limiter throttles failed sign-ins per client address (nil: no limit).
	Limiter *auth.RateLimiter
	Log     hclog.Logger
}

// handler serves the console.
type handler struct {
	opts  Options
	files fs.FS
	index []byte

	gzMu sync.Mutex
	gz   map[string][]byte // compressed JavaScript and CSS assets, by name, made on first use
}

// gzipped returns the asset's bytes compressed with gzip, computed once per asset.
func (h *handler) gzipped(name string, data []byte) []byte {
	h.gzMu.Lock()
	defer h.gzMu.Unlock()
	if b, ok := h.gz[name]; ok {
		return b
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	zw.Close()
	h.gz[name] = buf.Bytes()
	return h.gz[name]
}

// Handler returns the console mounted at Prefix: POST and DELETE /console/session sign in and
// out; GET /console/assets/* serves the built files (content-hashed names, cached for a
// year); any other GET under /console/ answers the application's page, which routes in the
// browser.
func Handler(opts Options) http.Handler {
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("console: " + err.Error())
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("console: dist/index.html is missing; run `make console`")
	}
	return &handler{opts: opts, files: files, index: index, gz: map[string][]byte{}}
}

// contentSecurityPolicy lets the page load only its own files and talk only to its own origin.
// 'unsafe-eval' is there for the JSON Schema validator of the campaign forms (ajv compiles each
// plugin's schema to a function); inline scripts stay forbidden.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/"))
	if p == "/session" {
		h.session(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if name, ok := strings.CutPrefix(p, "/assets/"); ok {
		data, err := fs.ReadFile(h.files, path.Join("assets", path.Clean("/" + name)[1:]))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		hdr.Set("Content-Type", ct)
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
		if ext := path.Ext(name); ext == ".js" || ext == ".css" {
			hdr.Add("Vary", "Accept-Encoding")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				data = h.gzipped(name, data)
				hdr.Set("Content-Encoding", "gzip")
			}
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	if path.Ext(p) != "" && p != "/index.html" {
		// A file that is not among the assets (favicon.svg and the like are in dist/).
		data, err := fs.ReadFile(h.files, path.Clean(p)[1:])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		hdr.Set("Content-Type", mime.TypeByExtension(path.Ext(p)))
		hdr.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
}

// session signs in (POST, body {"key": "pgk_…"}) and out (DELETE). Both need the header
// auth.SessionHeader: 1 and, when the browser names it, the server's own origin, so that no
// other site can sign a visitor in or out.
func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		w.Header().Set("Allow", "POST, DELETE")
		web.WriteGraphQLError(w, r, http.StatusMethodNotAllowed, "BAD_REQUEST", "sign in with POST, sign out with DELETE")
		return
	}
	if r.Header.Get(auth.SessionHeader) != "1" || !auth.SameOrigin(r) {
		web.WriteGraphQLError(w, r, http.StatusForbidden, "FORBIDDEN",
			"the console's session endpoint needs the "+auth.SessionHeader+": 1 header and a same-origin request")
		return
	}
	secure := r.TLS != nil
	if r.Method == http.MethodDelete {
		if c, err := r.Cookie(auth.SessionCookie); err == nil && c.Value != "" {
			if err := h.opts.Sessions.DeleteSession(r.Context(), c.Value); err != nil {
				h.opts.Log.Error("sign-out failed", "error", err)
				web.WriteGraphQLError(w, r, http.StatusServiceUnavailable, "INTERNAL", "signing out failed; try again")
				return
			}
		}
		http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	failKey := "fail:" + clientHost(r)
	if h.opts.Limiter.Exhausted(failKey) {
		w.Header().Set("Retry-After", "1")
		web.WriteGraphQLError(w, r, http.StatusTooManyRequests, "RATE_LIMITED", "too many failed sign-ins; retry later")
		return
	}
	var body struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Key == "" {
		web.WriteGraphQLError(w, r, http.StatusBadRequest, "INVALID_INPUT", `send {"key": "<API key>"} as JSON`)
		return
	}
	k, err := h.opts.Sessions.Authenticate(r.Context(), strings.TrimSpace(body.Key))
	switch {
	case auth.IsUnauthenticated(err):
		h.opts.Limiter.Allow(failKey)
		web.WriteGraphQLError(w, r, http.StatusUnauthorized, "UNAUTHENTICATED", "the API key is invalid or revoked")
		return
	case err != nil:
		h.opts.Log.Error("sign-in failed", "error", err)
		web.WriteGraphQLError(w, r, http.StatusServiceUnavailable, "INTERNAL", "signing in failed; try again")
		return
	}
	token, sess, err := h.opts.Sessions.CreateSession(r.Context(), k)
	if err != nil {
		h.opts.Log.Error("sign-in failed", "error", err)
		web.WriteGraphQLError(w, r, http.StatusServiceUnavailable, "INTERNAL", "signing in failed; try again")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		MaxAge: int(auth.SessionTTL.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	h.opts.Log.Info("console sign-in", "actor", k.Principal().Actor())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": k.Name, "roles": k.Roles, "expiresAt": sess.ExpiresAt.UTC().Format(time.RFC3339)})
}

func clientHost(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}
