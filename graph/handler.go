package graph

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/hashicorp/go-hclog"
	"github.com/vektah/gqlparser/v2/ast"
)

// HandlerOptions configures the GraphQL endpoint.
type HandlerOptions struct {
	// Introspection allows schema introspection queries (the explorer needs it).
	Introspection bool
	// Limits bound depth, aliases, cost, parser tokens and the errors of a response; zero
	// fields take the defaults.
	Limits Limits
	// Documents are registered documents by DocumentHash (see LoadDocuments). Clients may send
	// just their hash; they never fall out of the persisted query cache.
	Documents map[string]string
	// AllowListOnly runs registered Documents only: automatic persisted queries are off and
	// any other document is refused with DOCUMENT_NOT_ALLOWED.
	AllowListOnly bool
	// Telemetry, when set, counts and times operations and fills in the access log record.
	Telemetry *Telemetry
	// Live serves subscriptions over WebSocket (see LiveOptions; the resolver's Live hub says
	// what changed); nil serves none.
	Live *LiveOptions
}

// NewHandler returns the GraphQL endpoint: a spec-conformant GET and POST transport (and, with
// Live, subscriptions over WebSocket),
// a parsed-query cache, automatic persisted queries (or the allow-list), the query limits, the
// authorisation table with the audit log (every root field passes through it; see
// Authorization), the error presenter and panic recovery, and per-request dataloaders.
//
// The caller's principal comes from the request context (auth.WithPrincipal, set by the HTTP
// authentication middleware); without one the caller is anonymous.
func NewHandler(r *Resolver, opts HandlerOptions) http.Handler {
	log := r.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	limits := opts.Limits.WithDefaults()
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	srv.AddTransport(transport.Options{AllowedMethods: []string{"OPTIONS", "GET", "POST"}})
	srv.AddTransport(httpTransport{})
	var live *LiveOptions
	if opts.Live != nil {
		o := opts.Live.withDefaults()
		if o.Log == nil {
			o.Log = log.Named("websocket")
		}
		live = &o
		srv.AddTransport(live.transport())
	}
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if limits.MaxTokens > 0 {
		srv.SetParserTokenLimit(limits.MaxTokens)
	}
	// "Did you mean …" suggestions would leak the schema where introspection is off.
	srv.SetDisableSuggestion(true)
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	if opts.AllowListOnly {
		srv.Use(allowList{docs: opts.Documents})
	} else {
		srv.Use(extension.AutomaticPersistedQuery{Cache: documentCache{registered: opts.Documents, learned: lru.New[string](1000)}})
	}
	if opts.Telemetry != nil {
		srv.Use(opts.Telemetry)
	}
	srv.Use(limiter{l: limits})
	srv.Use(errorCap{max: limits.MaxErrors})
	srv.Use(intRange{})
	if live != nil {
		srv.Use(liveOps{r: r})
	}
	srv.Use(authorizer{r: r, log: log, introspection: opts.Introspection})
	srv.SetErrorPresenter(ErrorPresenter(log))
	srv.SetRecoverFunc(RecoverFunc(log))
	if live != nil {
		return live.withConn(r.WithLoaders(srv))
	}
	return r.WithLoaders(srv)
}
