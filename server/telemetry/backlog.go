package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
)

// Backlog is a collector of a queue kept in a table: at each scrape it runs one query returning
// the number of waiting rows and the time the oldest was queued (NULL when none), and reports
// them as two gauges, the count and the oldest row's age in seconds. Keep the query on an
// index of the waiting rows; it runs with a 2 s timeout, and a failure is reported as an
// invalid metric rather than a stale value.
type Backlog struct {
	DB    *db.DB
	Now   func() time.Time
	Query string
	// Count and Age describe the two gauges (no labels).
	Count, Age *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (b *Backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.Count
	ch <- b.Age
}

// Collect implements prometheus.Collector.
func (b *Backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	var oldest *time.Time
	if err := db.PG(b.DB).QueryRow(ctx, b.Query).Scan(&n, &oldest); err != nil {
		ch <- prometheus.NewInvalidMetric(b.Count, err)
		return
	}
	age := 0.0
	if oldest != nil {
		age = max(b.Now().Sub(*oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(b.Count, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(b.Age, prometheus.GaugeValue, age)
}
