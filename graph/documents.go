package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/promogate/promogate/graph/model"
)

// DocumentHash is the hex SHA-256 of a GraphQL document, the id clients send as
// extensions.persistedQuery.sha256Hash (or documentId "sha256:<hash>").
func DocumentHash(doc string) string {
	h := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(h[:])
}

// LoadDocuments reads registered documents, keyed by DocumentHash, from path: a directory of
// *.graphql files (one document each), a JSON object {"<sha256>": "<document>"}, or an Apollo
// persisted query manifest {"operations": [{"id": "<sha256>", "body": "<document>"}]}. A hash
// that is not the document's SHA-256 is an error.
func LoadDocuments(path string) (map[string]string, error) {
	docs := map[string]string{}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		files, err := filepath.Glob(filepath.Join(path, "*.graphql"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			docs[DocumentHash(string(b))] = string(b)
		}
		return docs, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	if json.Unmarshal(raw, &manifest) == nil && len(manifest.Operations) > 0 {
		for _, op := range manifest.Operations {
			docs[op.ID] = op.Body
		}
	} else {
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: neither a JSON object of hash to document nor a persisted query manifest: %w", path, err)
		}
		docs = m
	}
	for h, d := range docs {
		if DocumentHash(d) != strings.ToLower(h) {
			return nil, fmt.Errorf("%s: %q is not the SHA-256 of its document", path, h)
		}
	}
	return docs, nil
}

// persistedHash returns the sha256Hash of the persistedQuery extension, if any.
func persistedHash(p *graphql.RawParams) string {
	pq, _ := p.Extensions["persistedQuery"].(map[string]any)
	h, _ := pq["sha256Hash"].(string)
	return strings.ToLower(h)
}

// documentCache serves registered documents first, then documents clients registered through
// automatic persisted queries.
type documentCache struct {
	registered map[string]string
	learned    graphql.Cache[string]
}

func (c documentCache) Get(ctx context.Context, key string) (string, bool) {
	if d, ok := c.registered[key]; ok {
		return d, true
	}
	return c.learned.Get(ctx, key)
}

func (c documentCache) Add(ctx context.Context, key, value string) {
	if _, ok := c.registered[key]; !ok {
		c.learned.Add(ctx, key, value)
	}
}

// allowList accepts only registered documents: by hash alone, or in full when the full text is
// registered.
type allowList struct{ docs map[string]string }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = allowList{}

func (allowList) ExtensionName() string                   { return "AllowList" }
func (allowList) Validate(graphql.ExecutableSchema) error { return nil }

func (a allowList) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	hash := persistedHash(p)
	if p.Query == "" {
		doc, ok := a.docs[hash]
		if !ok {
			return limitError(model.ErrorCodeDocumentNotAllowed, "this server runs only registered documents; the hash %q is not one", hash)
		}
		p.Query = doc
		return nil
	}
	h := DocumentHash(p.Query)
	if hash != "" && hash != h {
		return limitError(model.ErrorCodeInvalidInput, "the persisted query hash does not match the query")
	}
	if _, ok := a.docs[h]; !ok {
		return limitError(model.ErrorCodeDocumentNotAllowed, "this server runs only registered documents; this one (sha256 %s) is not registered", h)
	}
	return nil
}
