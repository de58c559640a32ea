package explorer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var refAttr = regexp.MustCompile(`(?i)\b(?:src|href)="([^"]*)"`)

// get performs one request against h and returns the recorded response.
func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assetRefs returns the src and href attribute values of an HTML page,
// leaving out data: URIs.
func assetRefs(page string) []string {
	var refs []string
	for _, m := range refAttr.FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "data:") {
			refs = append(refs, m[1])
		}
	}
	return refs
}

// checkExplorer fetches the page at base+"/" from h and every asset it refers
// to, resolved the way a browser would.
func checkExplorer(t *testing.T, h http.Handler, base string) {
	t.Helper()
	pageURL := base + "/"
	resp := get(t, h, http.MethodGet, pageURL, nil)
	page := string(readBody(t, resp))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", pageURL, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET %s: Content-Type %q, want text/html", pageURL, ct)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Fatalf("page refers to a remote URL:\n%s", page)
	}
	refs := assetRefs(page)
	var js, css int
	for _, ref := range refs {
		u, err := url.Parse(ref)
		if err != nil {
			t.Fatalf("bad reference %q: %v", ref, err)
		}
		if u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "/") {
			t.Fatalf("reference %q is not a relative local path", ref)
		}
		abs := (&url.URL{Path: pageURL}).ResolveReference(u).String()
		resp := get(t, h, http.MethodGet, abs, nil)
		body := readBody(t, resp)
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET %s (from %q): status %d, %d bytes", abs, ref, resp.StatusCode, len(body))
		}
		switch {
		case strings.HasPrefix(ct, "text/javascript"), strings.HasPrefix(ct, "application/javascript"):
			js++
		case strings.HasPrefix(ct, "text/css"):
			css++
		default:
			t.Fatalf("GET %s: Content-Type %q, want JavaScript or CSS", abs, ct)
		}
	}
	// React, ReactDOM, GraphiQL and the bootstrap script; GraphiQL's and our CSS.
	if js != 4 || css != 2 {
		t.Fatalf("page loads %d scripts and %d style sheets, want 4 and 2: %q", js, css, refs)
	}
}

func TestIndexAndAssets(t *testing.T) {
	checkExplorer(t, Handler("/graphql"), "")
}

func TestMountedUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/explorer/", http.StripPrefix("/explorer", Handler("/graphql")))
	checkExplorer(t, mux, "/explorer")
}

func TestEndpointIsEscaped(t *testing.T) {
	h := Handler(`/graph"ql?a=<script>alert(1)</script>`)
	page := string(readBody(t, get(t, h, http.MethodGet, "/", nil)))
	if strings.Contains(page, "<script>alert") || strings.Contains(page, `/graph"ql`) {
		t.Fatalf("endpoint not escaped:\n%s", page)
	}
	page = string(readBody(t, get(t, Handler("/api/graphql"), http.MethodGet, "/", nil)))
	if !strings.Contains(page, `data-endpoint="/api/graphql"`) {
		t.Fatalf("endpoint missing from the page:\n%s", page)
	}
}

func TestHeadersAndCaching(t *testing.T) {
	h := Handler("/graphql")
	resp := get(t, h, http.MethodGet, "/", nil)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("index Cache-Control %q", cc)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("index Content-Security-Policy %q", csp)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("index has no ETag")
	}
	if resp := get(t, h, http.MethodGet, "/", http.Header{"If-None-Match": {etag}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("index revalidation: status %d", resp.StatusCode)
	}

	a := loadAssets()["graphiql.min.js"]
	versioned := AssetPrefix + "graphiql.min.js?v=" + a.version
	resp = get(t, h, http.MethodGet, versioned, nil)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("versioned asset Cache-Control %q", cc)
	}
	if got := readBody(t, resp); !bytes.Equal(got, a.data) {
		t.Fatalf("asset body differs: %d bytes, want %d", len(got), len(a.data))
	}
	resp = get(t, h, http.MethodGet, AssetPrefix+"graphiql.min.js", nil)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("unversioned asset Cache-Control %q", cc)
	}
	etag = resp.Header.Get("ETag")
	if resp := get(t, h, http.MethodGet, versioned, http.Header{"If-None-Match": {etag}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("asset revalidation: status %d", resp.StatusCode)
	}
}

func TestGzip(t *testing.T) {
	h := Handler("/graphql")
	resp := get(t, h, http.MethodGet, AssetPrefix+"graphiql.min.js", http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, loadAssets()["graphiql.min.js"].data) {
		t.Fatal("gzip body does not decompress to the asset")
	}
	resp = get(t, h, http.MethodGet, AssetPrefix+"graphiql.min.js", http.Header{"Accept-Encoding": {"gzip;q=0, identity"}})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip sent although refused")
	}
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP;q=0.5": true, "gzip;q=0": false, "*": true,
		"br, *;q=0": false, "gzip;q=0, *": false, "deflate": false, "x-gzip": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := Handler("/graphql")
	for _, p := range []string{"/nope", AssetPrefix + "nope.js", AssetPrefix + "../index.html", AssetPrefix, "/explorer.js", "/assets/graphiql.min.js"} {
		if resp := get(t, h, http.MethodGet, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	resp := get(t, h, http.MethodPost, "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp = get(t, h, http.MethodHead, AssetPrefix+"react.production.min.js", nil)
	if resp.StatusCode != http.StatusOK || len(readBody(t, resp)) != 0 {
		t.Fatalf("HEAD asset: status %d", resp.StatusCode)
	}
}

// TestVersionsFile checks that assets/VERSIONS names every vendored file with
// its package version, license and current SHA-256.
func TestVersionsFile(t *testing.T) {
	data, err := content.ReadFile("assets/VERSIONS")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 || !strings.Contains(f[0][1:], "@") || f[1] == "" {
			t.Fatalf("bad VERSIONS line %q (want package@version license file sha256)", line)
		}
		file, err := content.ReadFile("assets/" + f[2])
		if err != nil {
			t.Fatalf("VERSIONS names %s: %v", f[2], err)
		}
		sum := sha256.Sum256(file)
		if hex.EncodeToString(sum[:]) != f[3] {
			t.Errorf("assets/%s does not match its SHA-256 in VERSIONS; run scripts/explorer-assets.sh", f[2])
		}
		listed[f[2]] = true
	}
	entries, err := content.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "VERSIONS" && !listed[e.Name()] {
			t.Errorf("assets/%s is not listed in VERSIONS", e.Name())
		}
	}
}
