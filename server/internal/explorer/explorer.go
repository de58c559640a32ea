// Package explorer serves GraphiQL, the in-browser GraphQL IDE, with every
// asset embedded in the binary: the page loads nothing from any other server.
//
// The vendored files in assets/ come unmodified from the npm registry at the
// versions listed in assets/VERSIONS; scripts/explorer-assets.sh downloads
// them again.
package explorer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AssetPrefix is the path, relative to where Handler is mounted, under which
// the explorer's JavaScript and CSS files are served.
const AssetPrefix = "/explorer/assets/"

//go:embed index.html explorer.js explorer.css assets
var content embed.FS

// asset is one embedded file served under AssetPrefix.
type asset struct {
	data        []byte
	contentType string
	version     string // hex prefix of the SHA-256, used as ?v= and the ETag
	compress    bool

	gzOnce sync.Once
	gz     []byte
}

// gzipped returns the asset compressed with gzip, computed on first use.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.data)
		zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

var (
	loadOnce sync.Once
	assets   map[string]*asset
)

// loadAssets indexes the embedded files by the name they are served under.
func loadAssets() map[string]*asset {
	loadOnce.Do(func() {
		assets = make(map[string]*asset)
		add := func(name string, data []byte) {
			sum := sha256.Sum256(data)
			a := &asset{data: data, version: hex.EncodeToString(sum[:8])}
			switch path.Ext(name) {
			case ".js":
				a.contentType, a.compress = "text/javascript; charset=utf-8", true
			case ".css":
				a.contentType, a.compress = "text/css; charset=utf-8", true
			default: // VERSIONS and LICENSE.* files
				a.contentType = "text/plain; charset=utf-8"
			}
			assets[name] = a
		}
		for _, name := range []string{"explorer.js", "explorer.css"} {
			data, err := content.ReadFile(name)
			if err != nil {
				panic("explorer: " + err.Error())
			}
			add(name, data)
		}
		entries, err := fs.ReadDir(content, "assets")
		if err != nil {
			panic("explorer: " + err.Error())
		}
		for _, e := range entries {
			data, err := content.ReadFile("assets/" + e.Name())
			if err != nil {
				panic("explorer: " + err.Error())
			}
			add(e.Name(), data)
		}
	})
	return assets
}

// handler serves the explorer page and its assets.
type handler struct {
	index     []byte
	indexETag string
	csp       string
	assets    map[string]*asset
}

// Handler returns an http.Handler serving the GraphiQL explorer, which sends
// its queries to endpoint (a path such as "/graphql", or an absolute URL; an
// empty endpoint means "/graphql"). A relative endpoint is resolved against
// the page's URL, and subscriptions go to the same URL over WebSocket.
//
// It serves the page at "/" (and "/index.html") and its assets under
// AssetPrefix, answers 404 for any other path and 405 for methods other than
// GET and HEAD. The page refers to its assets by relative URLs, so the
// handler can be mounted at the root of a mux or, with http.StripPrefix,
// under a path that ends in a slash:
//
//	mux.Handle("/explorer/", http.StripPrefix("/explorer", explorer.Handler("/graphql")))
func Handler(endpoint string) http.Handler {
	if endpoint == "" {
		endpoint = "/graphql"
	}
	as := loadAssets()
	tmpl := template.Must(template.New("index.html").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := as[name]
			if !ok {
				return "", fs.ErrNotExist
			}
			return strings.TrimPrefix(AssetPrefix, "/") + name + "?v=" + a.version, nil
		},
	}).ParseFS(content, "index.html"))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ Endpoint string }{endpoint}); err != nil {
		panic("explorer: rendering index.html: " + err.Error())
	}
	sum := sha256.Sum256(buf.Bytes())
	return &handler{
		index:     buf.Bytes(),
		indexETag: `"` + hex.EncodeToString(sum[:8]) + `"`,
		csp:       contentSecurityPolicy(endpoint),
		assets:    as,
	}
}

// contentSecurityPolicy allows the page to load only its own assets and to
// send requests to its own origin and, for an absolute endpoint, to that
// endpoint's origin.
func contentSecurityPolicy(endpoint string) string {
	connect := "'self' ws: wss:"
	if u, err := url.Parse(endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		// GraphiQL's components inject <style> elements at run time.
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'self'",
	}, "; ")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var a *asset
	switch {
	case p == "" || p == "/" || p == "/index.html":
	case strings.HasPrefix(p, AssetPrefix):
		if a = h.assets[strings.TrimPrefix(p, AssetPrefix)]; a == nil {
			http.NotFound(w, r)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if a == nil {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Content-Security-Policy", h.csp)
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("ETag", h.indexETag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
		return
	}

	hdr.Set("Content-Type", a.contentType)
	if r.URL.Query().Get("v") == a.version {
		// The page asks for the asset by its content hash: never stale.
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	body, etag := a.data, `"`+a.version+`"`
	if a.compress {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gzipped(), `"`+a.version+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header value admits gzip: an
// explicit "gzip" entry decides by its q-value, else a "*" entry does.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, param := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(param, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if coding == "gzip" {
			gzipQ = q
		} else {
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
