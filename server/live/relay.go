package live

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/promogate/promogate/db"
)

// RelayBatch is the most live_changes rows one relay pass takes.
const RelayBatch = 10000

// relaySQL takes up to RelayBatch committed rows of live_changes that no other relay holds,
// deletes them, and notifies Channel of their ids, each id once per kind and at most 300 ids
// to a notification (a payload must stay under 8,000 bytes), all in the statement's own
// transaction: the notifications are delivered when the deletion commits, and a row is taken
// by exactly one relay. It returns the rows taken and the notifications sent.
var relaySQL = `WITH taken AS (
	DELETE FROM live_changes WHERE ctid = ANY(ARRAY(SELECT ctid FROM live_changes LIMIT ` + strconv.Itoa(RelayBatch) + ` FOR UPDATE SKIP LOCKED))
	RETURNING kind, ids
), changed AS (
	SELECT DISTINCT kind, id FROM taken, unnest(ids) AS id
), payloads AS (
	SELECT kind || ' ' || string_agg(id::text, ' ' ORDER BY id) AS payload
	FROM (SELECT kind, id, (row_number() OVER (PARTITION BY kind ORDER BY id) - 1) / 300 AS part FROM changed) numbered
	GROUP BY kind, part
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM (SELECT pg_notify('` + Channel + `', payload) FROM payloads) sent)`

// Relay moves the changes that the database triggers record in the live_changes table to the
// notification channel (see the live_relay migration): writing transactions then never notify
// themselves, which would make PostgreSQL commit them one at a time. Every core runs one, with
// or without live updates of its own, so that the table is emptied whichever replicas listen;
// several relays share the work without delivering a change twice.
type Relay struct {
	DB  *db.DB
	Log hclog.Logger
	// Interval is the wait between passes that found the table empty or nearly so; default
	// 50ms. It is what a change waits at most, beyond its transaction, to be announced.
	Interval time.Duration

	relayed atomic.Int64
	errors  atomic.Int64
}

// Relayed returns how many live_changes rows this relay has taken and announced.
func (r *Relay) Relayed() int64 { return r.relayed.Load() }

// Errors returns how many of this relay's passes failed.
func (r *Relay) Errors() int64 { return r.errors.Load() }

// Pass announces what is committed in live_changes now (up to RelayBatch rows) and returns the
// rows taken and the notifications sent. When it returns without an error, those notifications
// are committed: a notification sent after it is delivered after them.
func (r *Relay) Pass(ctx context.Context) (rows, sent int64, err error) {
	if err := db.PG(r.DB).QueryRow(ctx, relaySQL).Scan(&rows, &sent); err != nil {
		r.errors.Add(1)
		return 0, 0, err
	}
	r.relayed.Add(rows)
	return rows, sent, nil
}

// Run relays until ctx is done: a pass every Interval, and at once again after a full batch.
// A failed pass (a database outage) is logged and tried again after the interval.
func (r *Relay) Run(ctx context.Context) {
	log := r.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	every := r.Interval
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	t := time.NewTimer(every)
	defer t.Stop()
	failing := false
	for {
		rows, _, err := r.Pass(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			log.Warn("live updates: relaying changes failed; trying again", "error", err)
			failing = true
		case err == nil && failing:
			log.Info("live updates: relaying changes again")
			failing = false
		}
		if err == nil && rows == RelayBatch {
			continue
		}
		t.Reset(every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
