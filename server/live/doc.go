// Package live tells this process's subscribers what changed in the database, whichever
// replica changed it.
//
// Writes never call this package. Triggers in the database (migrations
// 20261211000001_live_notify and 20261219120001_live_relay) record in the table live_changes,
// inside the statement, what changes a member's balances, transactions, tiers, benefits or
// enrolments, an event's outcome, or a campaign's status or figures. A Relay in every process
// takes the committed rows and notifies the channel Channel from its own transaction (a
// transaction that notifies commits under a database-wide lock, which the writes thus never
// take); PostgreSQL delivers a notification to every session listening. A Listener holds one dedicated connection per process that LISTENs on the channel and
// publishes each notification to a Hub, which fans it out in memory to the subscriptions of
// its topic.
//
// A notification says only what changed ("member 12 40": something about members 12 and 40);
// subscribers read the current state themselves. So a subscription buffers one pending signal
// at most, into which further changes are merged until it is received: a slow subscriber never
// holds up the listener or other subscribers and misses nothing but intermediate states. When
// the listening connection is lost, what is committed until it is back is not heard, so after
// reconnecting the listener signals every subscription once to make it read its state again.
package live
