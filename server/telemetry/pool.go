package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promogate/promogate/db"
)

// NewPoolCollector exports the connection pool's figures under the names Go's database/sql
// collector uses (go_sql_open_connections, go_sql_wait_duration_seconds_total, …, labelled
// db_name), read from the pgx pool that both bun and pgx take their connections from.
func NewPoolCollector(d *db.DB, dbName string) prometheus.Collector {
	labels := prometheus.Labels{"db_name": dbName}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_sql_"+name, help, nil, labels)
	}
	return &poolCollector{d: d,
		maxOpen:     desc("max_open_connections", "Maximum number of open connections to the database."),
		open:        desc("open_connections", "The number of established connections both in use and idle."),
		inUse:       desc("in_use_connections", "The number of connections currently in use."),
		idle:        desc("idle_connections", "The number of idle connections."),
		waitCount:   desc("wait_count_total", "The total number of connections waited for."),
		waitSeconds: desc("wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		idleClosed:  desc("max_idle_time_closed_total", "The total number of connections closed for having been idle too long."),
		lifeClosed:  desc("max_lifetime_closed_total", "The total number of connections closed at the end of their lifetime."),
	}
}

type poolCollector struct {
	d                                                              *db.DB
	maxOpen, open, inUse, idle, waitCount, waitSeconds, idleClosed *prometheus.Desc
	lifeClosed                                                     *prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitSeconds, c.idleClosed, c.lifeClosed} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.PoolStat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxOpen, float64(s.MaxConns()))
	gauge(c.open, float64(s.TotalConns()))
	gauge(c.inUse, float64(s.AcquiredConns()))
	gauge(c.idle, float64(s.IdleConns()))
	counter(c.waitCount, float64(s.EmptyAcquireCount()))
	counter(c.waitSeconds, s.EmptyAcquireWaitTime().Seconds())
	counter(c.idleClosed, float64(s.MaxIdleDestroyCount()))
	counter(c.lifeClosed, float64(s.MaxLifetimeDestroyCount()))
}
