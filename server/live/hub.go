package live

import (
	"errors"
	"fmt"
	"sync"
)

// Kind is what a topic is about.
type Kind uint8

// The kinds of topic.
const (
	KindMember Kind = iota + 1
	KindEvent
	KindCampaign
)

func (k Kind) String() string {
	switch k {
	case KindMember:
		return "member"
	case KindEvent:
		return "event"
	case KindCampaign:
		return "campaign"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Topic is one thing subscribers follow: a member, an event or a campaign, by database id.
type Topic struct {
	Kind Kind
	ID   int64
}

// Member is the topic of a member: its balances, transactions, tiers, benefits and enrolments.
func Member(id int64) Topic { return Topic{KindMember, id} }

// Event is the topic of an event's status and outcome.
func Event(id int64) Topic { return Topic{KindEvent, id} }

// Campaign is the topic of a campaign: its status and figures.
func Campaign(id int64) Topic { return Topic{KindCampaign, id} }

// ErrTooManySubscriptions is returned by Subscribe when the process holds its maximum.
var ErrTooManySubscriptions = errors.New("live: too many subscriptions in this process")

// Hub fans changes out to the subscriptions of their topic. It is safe for concurrent use;
// Publish never blocks.
type Hub struct {
	max int

	mu     sync.RWMutex
	topics map[Topic]map[*Subscription]struct{}
	count  int
}

// NewHub returns a hub holding at most max subscriptions at once (0: no limit).
func NewHub(max int) *Hub {
	return &Hub{max: max, topics: map[Topic]map[*Subscription]struct{}{}}
}

// Subscription receives the changes of one topic until it is closed.
type Subscription struct {
	hub   *Hub
	topic Topic
	ready chan struct{}
	once  sync.Once
}

// Subscribe starts following t. The caller must Close the subscription. Errors:
// ErrTooManySubscriptions.
func (h *Hub) Subscribe(t Topic) (*Subscription, error) {
	s := &Subscription{hub: h, topic: t, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.max > 0 && h.count >= h.max {
		return nil, ErrTooManySubscriptions
	}
	subs := h.topics[t]
	if subs == nil {
		subs = map[*Subscription]struct{}{}
		h.topics[t] = subs
	}
	subs[s] = struct{}{}
	h.count++
	return s, nil
}

// Publish signals every subscription of t that t changed.
func (h *Hub) Publish(t Topic) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.topics[t] {
		s.signal()
	}
}

// PublishAll signals every subscription, whatever its topic.
func (h *Hub) PublishAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, subs := range h.topics {
		for s := range subs {
			s.signal()
		}
	}
}

// Count returns the number of open subscriptions.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.count
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default: // a signal is pending already; this change is merged into it
	}
}

// Topic returns the topic followed.
func (s *Subscription) Topic() Topic { return s.topic }

// Changed receives a value when the topic changed since the value before was received. It
// holds one value at most: changes made while one is pending are merged into it.
func (s *Subscription) Changed() <-chan struct{} { return s.ready }

// Close stops the subscription. It is idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		subs := h.topics[s.topic]
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.topics, s.topic)
		}
		h.count--
	})
}
