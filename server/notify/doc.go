// Package notify keeps the notifications outbox and delivers it to one webhook.
//
// Programme plugins return notify effects (channel sms or email, a template name, a recipient
// and string parameters). The engine stores each one with Enqueue in the same PostgreSQL
// transaction as the rest of the event's effects, so a notification exists exactly when the
// points, benefits or tier change it announces exist. A Dispatcher later POSTs every pending
// notification, signed with HMAC-SHA256, to the configured webhook URL, where any SMS or e-mail
// provider can be plugged in.
//
// Delivery is at least once: the Idempotency-Key header carries the notification's key, which
// never changes across retries, so the receiver drops duplicates. A 2xx answer delivers the
// notification; 408, 429, 5xx, a network error or a timeout retry it with jittered exponential
// back-off up to Config.MaxAttempts; any other answer fails it for good. Every attempt is a row
// in notification_deliveries (see Store.Deliveries).
//
// Several dispatchers (one per core replica) may share a database: each claims due rows with
// FOR UPDATE SKIP LOCKED and holds them for Config.Lease, and a claim takes the next attempt
// number, so no notification is in flight from two dispatchers at once unless a lease expires
// (a dispatcher stopped or stalled), and even then the attempts are numbered apart.
//
// The package imports no transport; docs/notifications.md describes the webhook contract.
package notify
