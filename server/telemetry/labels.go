package telemetry

import "sync"

// Names bounds a label whose values come from clients (GraphQL operation names): the first Max
// distinct well-formed values are kept, later ones and malformed ones are reported as "other",
// so a client cannot grow the metric series without bound.
type Names struct {
	Max int

	mu   sync.Mutex
	seen map[string]struct{}
}

// Label returns name if it may be a label value, else "other".
func (n *Names) Label(name string) string {
	if !wellFormed(name) {
		return "other"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.seen[name]; ok {
		return name
	}
	if len(n.seen) >= n.Max {
		return "other"
	}
	if n.seen == nil {
		n.seen = map[string]struct{}{}
	}
	n.seen[name] = struct{}{}
	return name
}

// wellFormed reports whether s is a GraphQL name of at most 64 characters.
func wellFormed(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
