package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "X-Promogate-Timestamp"
	HeaderSignature      = "X-Promogate-Signature"
	HeaderAttempt        = "X-Promogate-Attempt"
)

// userAgent identifies the dispatcher to the webhook.
const userAgent = "Promogate-Webhook/1"

// Payload is the JSON body POSTed to the webhook for one notification. The body of a
// notification is the same on every attempt.
type Payload struct {
	ID         int64             `json:"id"`
	Key        string            `json:"key"`
	Channel    string            `json:"channel"`
	Template   string            `json:"template"`
	Recipient  string            `json:"recipient"`
	Params     map[string]string `json:"params"`
	MemberID   int64             `json:"memberId"`
	CampaignID *int64            `json:"campaignId"`
	EventID    *int64            `json:"eventId"`
	CreatedAt  time.Time         `json:"createdAt"`
}

// body returns the webhook body for n: compact JSON, params in key order, without HTML
// escaping.
func body(n *Notification) ([]byte, error) {
	params := n.Params
	if params == nil {
		params = map[string]string{}
	}
	p := Payload{ID: n.ID, Key: n.Key, Channel: n.Channel, Template: n.Template, Recipient: n.Recipient,
		Params: params, MemberID: n.MemberID, CampaignID: n.CampaignID, EventID: n.EventID, CreatedAt: n.CreatedAt.UTC()}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sign returns the X-Promogate-Signature value for body sent at timestamp (unix seconds):
// "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>" under secret.
func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// attemptResult is what one POST to the webhook came to.
type attemptResult struct {
	startedAt  time.Time
	duration   time.Duration
	statusCode int // 0: no response
	err        string
	outcome    string
	retryAfter time.Duration // from a Retry-After header, 0 if none
}

// Bytes of a response body kept in the delivery log, and read at most (so that the connection
// can be reused).
const (
	bodySnippetBytes = 256
	bodyDrainBytes   = 64 << 10
)

// post sends one attempt of n to the webhook and classifies the answer.
func (d *Dispatcher) post(ctx context.Context, n *Notification) (r attemptResult) {
	r.startedAt = d.now().UTC().Truncate(time.Microsecond)
	start := time.Now()
	defer func() { r.duration = time.Since(start) }()

	b, err := body(n)
	if err != nil {
		r.outcome, r.err = OutcomeFailed, "encode body: "+err.Error()
		return r
	}
	reqCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, d.cfg.URL, bytes.NewReader(b))
	if err != nil {
		r.outcome, r.err = OutcomeFailed, "build request: "+unwrapURLError(err).Error()
		return r
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderIdempotencyKey, n.Key)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderAttempt, strconv.Itoa(n.Attempts))
	if len(d.cfg.Secret) > 0 {
		req.Header.Set(HeaderSignature, sign(d.cfg.Secret, ts, b))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		r.outcome = OutcomeRetry
		switch {
		case ctx.Err() != nil:
			r.err = "interrupted: the dispatcher is stopping"
		case errors.Is(err, context.DeadlineExceeded) || reqCtx.Err() != nil:
			r.err = fmt.Sprintf("timeout: no answer within %s", d.cfg.Timeout)
		default:
			r.err = unwrapURLError(err).Error()
		}
		return r
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, bodySnippetBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyDrainBytes))
	r.statusCode = resp.StatusCode
	code := resp.StatusCode
	switch {
	case code >= 200 && code <= 299:
		r.outcome = OutcomeDelivered
		return r
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		r.outcome = OutcomeRetry
		r.retryAfter = retryAfter(resp.Header.Get("Retry-After"), d.now())
	default:
		r.outcome = OutcomeFailed
	}
	r.err = "HTTP " + strconv.Itoa(code)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		r.err += ": " + s
	}
	return r
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the webhook URL (which may
// carry a token) into the delivery log.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After header (delay in seconds, or an HTTP date) relative to now;
// 0 if absent or unparsable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// cleanError makes s storable as PostgreSQL text and short: valid UTF-8, no NUL, at most 1000
// bytes.
func cleanError(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:1000], "") + "…"
	}
	return s
}
