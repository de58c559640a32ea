package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/graph/model"
)

// Media types of GraphQL-over-HTTP responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport serves GraphQL over HTTP as the GraphQL-over-HTTP specification says:
//
//   - POST with Content-Type application/json (utf-8), or GET with URL parameters (queries only;
//     a mutation over GET is 405);
//   - the response is application/graphql-response+json or application/json, whichever the
//     Accept header prefers (application/json when it names neither, or is absent);
//   - a request that is not a GraphQL-over-HTTP request (no JSON object, a parameter of the
//     wrong type, no query) is 400 for both media types;
//   - a document that does not parse or validate, variables that do not coerce, and a document
//     over a limit or not on the allow-list are 200 with application/json and 400 with
//     application/graphql-response+json, and carry no data entry;
//   - a subscription is refused like a document over a limit, with WEBSOCKET_REQUIRED (it is
//     served over WebSocket; see LiveOptions);
//   - an executed operation is 200 whatever its field errors, except that one with an UNAVAILABLE
//     error (the database is down or out of connections) is 503 with Retry-After.
//
// Besides query, operationName, variables and extensions it accepts documentId
// ("sha256:<hex>") for a registered or persisted document.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && r.Method != http.MethodOptions && r.Method != http.MethodHead
}

// RequestError is a malformed GraphQL-over-HTTP request (HTTP 400).
type RequestError struct{ msg string }

func (e *RequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error { return &RequestError{fmt.Sprintf(format, args...)} }

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		writeHTTPError(w, mediaJSON, http.StatusNotAcceptable, model.ErrorCodeBadRequest,
			"the Accept header names no media type this server answers with ("+mediaGraphQLResponse+", "+mediaJSON+")")
		return
	}
	start := graphql.Now()
	var params *graphql.RawParams
	var err error
	switch r.Method {
	case http.MethodPost:
		mt, mp, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if perr != nil || mt != mediaJSON || (mp["charset"] != "" && !strings.EqualFold(mp["charset"], "utf-8")) {
			writeHTTPError(w, media, http.StatusUnsupportedMediaType, model.ErrorCodeBadRequest,
				"POST needs Content-Type: application/json (utf-8)")
			return
		}
		body, rerr := io.ReadAll(r.Body)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(rerr, &tooLarge):
			writeHTTPError(w, media, http.StatusRequestEntityTooLarge, model.ErrorCodeRequestTooLarge,
				fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit))
			return
		case rerr != nil:
			writeHTTPError(w, media, http.StatusBadRequest, model.ErrorCodeBadRequest, "the request body could not be read")
			return
		}
		params, err = DecodeRequest(body)
	case http.MethodGet:
		params, err = DecodeQueryString(r.URL.RawQuery)
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		writeHTTPError(w, media, http.StatusMethodNotAllowed, model.ErrorCodeBadRequest, "GraphQL is served over GET and POST")
		return
	}
	if err != nil {
		writeHTTPError(w, media, http.StatusBadRequest, model.ErrorCodeBadRequest, err.Error())
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		// A request error: nothing was executed, so the response has no data entry.
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		writeJSON(w, media, status, struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		return
	}
	if oc.Operation.Operation == ast.Subscription {
		// A request error, like a document over a limit: nothing runs.
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeHTTPError(w, media, status, model.ErrorCodeWebsocketRequired,
			"subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over HTTP GET or POST")
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeHTTPError(w, media, http.StatusMethodNotAllowed, model.ErrorCodeBadRequest, "GET runs queries only; send mutations with POST")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	status := http.StatusOK
	if hasCode(resp.Errors, model.ErrorCodeUnavailable) {
		// A database outage: tell HTTP clients and proxies to come back rather than to give up.
		w.Header().Set("Retry-After", db.OutageRetryAfter)
		status = http.StatusServiceUnavailable
	}
	writeResponse(w, media, status, resp)
}

// hasCode reports whether one of errs carries extensions.code code.
func hasCode(errs gqlerror.List, code model.ErrorCode) bool {
	for _, e := range errs {
		if c, _ := e.Extensions["code"].(string); c == string(code) {
			return true
		}
	}
	return false
}

// negotiate picks the response media type from an Accept header: the supported type with the
// highest q (the first one listed on a tie); application/json for */*, application/* or no
// header. It reports false when the header accepts neither supported type.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		var cand string
		switch mt {
		case mediaGraphQLResponse:
			cand = mediaGraphQLResponse
		case mediaJSON, "application/*", "*/*":
			cand = mediaJSON
		}
		if cand != "" && q > bestQ {
			best, bestQ = cand, q
		}
	}
	return best, best != ""
}

// wireRequest is the JSON body of a POST, each parameter kept raw to check its type.
type wireRequest struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
	DocumentID    json.RawMessage `json:"documentId"`
}

// DecodeRequest decodes the JSON body of a GraphQL-over-HTTP POST: one JSON object whose query,
// operationName and documentId are strings (or null or absent), and whose variables and
// extensions are objects (or null or absent). Errors are *RequestError (HTTP 400).
func DecodeRequest(body []byte) (*graphql.RawParams, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, badRequest("the request body is empty; send a JSON object with a query")
	}
	if trimmed[0] != '{' {
		return nil, badRequest("the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		return nil, badRequest("the request body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("the request body has data after its JSON object")
	}
	p := &graphql.RawParams{}
	var err error
	if p.Query, err = stringParam("query", w.Query); err != nil {
		return nil, err
	}
	if p.OperationName, err = stringParam("operationName", w.OperationName); err != nil {
		return nil, err
	}
	if p.Variables, err = objectParam("variables", w.Variables); err != nil {
		return nil, err
	}
	if p.Extensions, err = objectParam("extensions", w.Extensions); err != nil {
		return nil, err
	}
	docID, err := stringParam("documentId", w.DocumentID)
	if err != nil {
		return nil, err
	}
	return finishParams(p, docID)
}

// DecodeQueryString decodes the URL parameters of a GraphQL-over-HTTP GET: query,
// operationName and documentId as they are, variables and extensions as JSON objects.
// Errors are *RequestError (HTTP 400).
func DecodeQueryString(raw string) (*graphql.RawParams, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("the URL query could not be parsed: %v", err)
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	if v := q.Get("variables"); v != "" {
		if p.Variables, err = objectParam("variables", json.RawMessage(v)); err != nil {
			return nil, err
		}
	}
	if v := q.Get("extensions"); v != "" {
		if p.Extensions, err = objectParam("extensions", json.RawMessage(v)); err != nil {
			return nil, err
		}
	}
	return finishParams(p, q.Get("documentId"))
}

// finishParams turns a documentId into a persisted-query hash and insists on a document.
func finishParams(p *graphql.RawParams, docID string) (*graphql.RawParams, error) {
	if docID != "" {
		hash, ok := strings.CutPrefix(docID, "sha256:")
		if !ok || len(hash) != 64 {
			return nil, badRequest("documentId must be sha256:<64 hex digits>")
		}
		if p.Extensions == nil {
			p.Extensions = map[string]any{}
		}
		p.Extensions["persistedQuery"] = map[string]any{"version": json.Number("1"), "sha256Hash": hash}
	}
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return nil, badRequest("the request has no query")
	}
	return p, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func stringParam(name string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badRequest("%s must be a string", name)
	}
	return s, nil
}

func objectParam(name string, raw json.RawMessage) (map[string]any, error) {
	if isNull(raw) {
		return nil, nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, badRequest("%s must be a JSON object", name)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, badRequest("%s must be a JSON object: %v", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("%s has data after its JSON object", name)
	}
	return m, nil
}

// writeResponse writes an executed operation's response. One with data only, the common case,
// is written as json.Marshal would write it, {"data":…} with <, >, &, U+2028 and U+2029
// escaped, but without json.Marshal validating and compacting the data once more: the
// executor has just written it as compact JSON.
func writeResponse(w http.ResponseWriter, media string, status int, resp *graphql.Response) {
	if len(resp.Errors) > 0 || resp.Label != "" || resp.Path != nil || resp.HasNext != nil || len(resp.Extensions) > 0 {
		writeJSON(w, media, status, resp)
		return
	}
	var b bytes.Buffer
	b.Grow(len(resp.Data) + len(`{"data":}`))
	b.WriteString(`{"data":`)
	if len(resp.Data) == 0 {
		b.WriteString("null")
	} else {
		json.HTMLEscape(&b, resp.Data)
	}
	b.WriteByte('}')
	writeBody(w, media, status, b.Bytes())
}

func writeJSON(w http.ResponseWriter, media string, status int, resp any) {
	b, err := json.Marshal(resp)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: "internal error",
			Extensions: map[string]any{"code": string(model.ErrorCodeInternal)}}}})
	}
	writeBody(w, media, status, b)
}

func writeBody(w http.ResponseWriter, media string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", media+"; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeHTTPError answers a request that never reached GraphQL execution.
func writeHTTPError(w http.ResponseWriter, media string, status int, code model.ErrorCode, msg string) {
	writeJSON(w, media, status, struct {
		Errors gqlerror.List `json:"errors"`
	}{gqlerror.List{{Message: msg, Extensions: map[string]any{"code": string(code)}}}})
}
