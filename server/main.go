// Command promogate is the Promogate loyalty gateway: one GraphQL API over members, balances,
// rewards and campaigns, with every programme's rules in an out-of-process plugin.
//
// Usage:
//
//	promogate serve   [flags]   run the HTTP server (GraphQL at /graphql, explorer at /, console at /console)
//	promogate migrate [flags]   apply pending database migrations and exit
//	promogate demo    [flags]   load the demo data set (idempotent) and exit
//	promogate plugin register PATH   register a plugin binary in the catalog
//	promogate apikey  ...       create, list, revoke or generate API keys
//	promogate token   ...       development only: mint a member token (JWT) with a local key
//	promogate version           print the version
//
// Every flag can also be set through the environment variable named in its help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/graph"
	"github.com/promogate/promogate/server/backtest"
	"github.com/promogate/promogate/server/benefits"
	"github.com/promogate/promogate/server/campaigns"
	"github.com/promogate/promogate/server/clock"
	"github.com/promogate/promogate/server/console"
	"github.com/promogate/promogate/server/engine"
	"github.com/promogate/promogate/server/explanation"
	"github.com/promogate/promogate/server/internal/demo"
	"github.com/promogate/promogate/server/internal/web"
	"github.com/promogate/promogate/server/ledger"
	"github.com/promogate/promogate/server/live"
	"github.com/promogate/promogate/server/members"
	"github.com/promogate/promogate/server/notify"
	"github.com/promogate/promogate/server/pluginhost"
	"github.com/promogate/promogate/server/referral"
	"github.com/promogate/promogate/server/rewards"
	"github.com/promogate/promogate/server/scheduler"
	"github.com/promogate/promogate/server/shadow"
	"github.com/promogate/promogate/server/telemetry"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "migrate":
		err = runMigrate(args)
	case "demo":
		err = runDemo(args)
	case "apikey":
		err = runAPIKey(args)
	case "plugin":
		err = runPlugin(args)
	case "token":
		err = runToken(args, os.Stdout, os.Stderr)
	case "version":
		fmt.Println(version)
	case "-h", "-help", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "promogate: unknown command %q\n\n", cmd)
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "promogate:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: promogate <command> [flags]

commands:
  serve     run the HTTP server (GraphQL at /graphql, explorer at /, console at /console)
  migrate   apply pending database migrations and exit
  demo      load the demo data set (idempotent) and exit
  apikey    create, list, revoke or generate API keys
  plugin    register a plugin binary (promogate plugin register PATH)
  token     development only: mint a member token (JWT) with a local key
  version   print the version

Run 'promogate <command> -h' for the flags of a command.
`)
}

// config is the process configuration, from flags with environment fallbacks.
type config struct {
	databaseURL   string
	listen        string
	migrate       bool
	demo          bool
	logLevel      string
	logJSON       bool
	introspection bool
	dbMaxConns    int
	clockStart    string
	shutdownGrace time.Duration

	pluginsDir         string
	pluginCallTimeout  time.Duration
	shadowDeadline     time.Duration
	pluginStartTimeout time.Duration
	pluginBackoffMax   time.Duration
	eventRetryMax      time.Duration
	eventMaxSkew       time.Duration
	recordBudget       time.Duration
	maxPointsPerEffect int64
	schedulerInterval  time.Duration
	devClock           bool
	webhookURL         string
	webhookSecret      string
	otlpEndpoint       string
	traceSampleRatio   float64
	live               bool
	liveSubscriptions  int
	liveConnSubs       int

	security securityConfig
}

func parseConfig(name string, args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&c.logLevel, "log-level", env("PROMOGATE_LOG_LEVEL", "info"), "trace, debug, info, warn or error (env PROMOGATE_LOG_LEVEL)")
	fs.BoolVar(&c.logJSON, "log-json", envBool("PROMOGATE_LOG_JSON", true), "log JSON lines (env PROMOGATE_LOG_JSON)")
	fs.IntVar(&c.dbMaxConns, "db-max-conns", envInt("PROMOGATE_DB_MAX_CONNS", 32), "database pool size (env PROMOGATE_DB_MAX_CONNS)")
	fs.StringVar(&c.clockStart, "clock-start", env("PROMOGATE_CLOCK_START", ""),
		"development only: run programme time from this RFC 3339 instant instead of now (env PROMOGATE_CLOCK_START)")
	if name == "serve" {
		fs.StringVar(&c.listen, "listen", env("PROMOGATE_LISTEN", "127.0.0.1:8080"), "HTTP listen address (env PROMOGATE_LISTEN)")
		fs.BoolVar(&c.migrate, "migrate", envBool("PROMOGATE_MIGRATE", false), "apply pending migrations at start (env PROMOGATE_MIGRATE)")
		fs.BoolVar(&c.demo, "demo", envBool("PROMOGATE_DEMO", false), "load the demo data set at start, idempotently (env PROMOGATE_DEMO)")
		fs.BoolVar(&c.introspection, "introspection", envBool("PROMOGATE_INTROSPECTION", false), "allow GraphQL introspection, e.g. for the explorer (env PROMOGATE_INTROSPECTION)")
		fs.DurationVar(&c.shutdownGrace, "shutdown-grace", envDuration("PROMOGATE_SHUTDOWN_GRACE", 20*time.Second), "time to drain requests on SIGTERM (env PROMOGATE_SHUTDOWN_GRACE)")
		fs.StringVar(&c.pluginsDir, "plugins-dir", env("PROMOGATE_PLUGINS_DIR", ""), "register every executable in this directory at start (env PROMOGATE_PLUGINS_DIR)")
		fs.DurationVar(&c.pluginCallTimeout, "plugin-call-timeout", envDuration("PROMOGATE_PLUGIN_CALL_TIMEOUT", 10*time.Second), "deadline of every plugin call (env PROMOGATE_PLUGIN_CALL_TIMEOUT)")
		fs.DurationVar(&c.shadowDeadline, "shadow-deadline", envDuration("PROMOGATE_SHADOW_DEADLINE", 2*time.Second), "deadline of every call to a shadow run's plugin process (env PROMOGATE_SHADOW_DEADLINE)")
		fs.DurationVar(&c.pluginStartTimeout, "plugin-start-timeout", envDuration("PROMOGATE_PLUGIN_START_TIMEOUT", 10*time.Second), "time a plugin process has to start (env PROMOGATE_PLUGIN_START_TIMEOUT)")
		fs.DurationVar(&c.pluginBackoffMax, "plugin-backoff-max", envDuration("PROMOGATE_PLUGIN_BACKOFF_MAX", 30*time.Second), "longest wait before restarting a failing plugin (env PROMOGATE_PLUGIN_BACKOFF_MAX)")
		fs.DurationVar(&c.recordBudget, "record-budget", envDuration("PROMOGATE_RECORD_BUDGET", time.Second), "longest a recordEvent(s) answer waits for plugins; campaigns whose plugin has not answered by then are reported waiting and applied when it does (env PROMOGATE_RECORD_BUDGET)")
		fs.DurationVar(&c.eventRetryMax, "event-retry-max", envDuration("PROMOGATE_EVENT_RETRY_MAX", 10*time.Second), "longest wait before evaluating a waiting event again (env PROMOGATE_EVENT_RETRY_MAX)")
		fs.DurationVar(&c.eventMaxSkew, "event-max-skew", envDuration("PROMOGATE_EVENT_MAX_SKEW", engine.DefaultMaxFutureSkew), "how far ahead of programme time an event's occurredAt may be; events further ahead are refused FUTURE_EVENT (env PROMOGATE_EVENT_MAX_SKEW)")
		fs.DurationVar(&c.schedulerInterval, "scheduler-interval", envDuration("PROMOGATE_SCHEDULER_INTERVAL", time.Second), "time between scheduler passes; 0 disables the scheduler in this replica (env PROMOGATE_SCHEDULER_INTERVAL)")
		fs.StringVar(&c.webhookURL, "webhook-url", env("PROMOGATE_WEBHOOK_URL", ""), "deliver notifications (SMS, e-mail) by POSTing them here (env PROMOGATE_WEBHOOK_URL)")
		fs.StringVar(&c.webhookSecret, "webhook-secret", env("PROMOGATE_WEBHOOK_SECRET", ""), "HMAC-SHA256 key of the X-Promogate-Signature header (env PROMOGATE_WEBHOOK_SECRET)")
		fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", env("PROMOGATE_OTLP_ENDPOINT", ""), "send OpenTelemetry traces over OTLP/HTTP to this URL, e.g. http://127.0.0.1:4318; empty: tracing off (env PROMOGATE_OTLP_ENDPOINT)")
		fs.Float64Var(&c.traceSampleRatio, "trace-sample-ratio", envFloat("PROMOGATE_TRACE_SAMPLE_RATIO", 1), "share of new traces sampled, 0 to 1; a request with a traceparent header follows its caller's decision (env PROMOGATE_TRACE_SAMPLE_RATIO)")
		fs.BoolVar(&c.devClock, "dev-clock", envBool("PROMOGATE_DEV_CLOCK", false), "development and tests only: allow the setClock mutation to move programme time (env PROMOGATE_DEV_CLOCK)")
		fs.BoolVar(&c.live, "live", envBool("PROMOGATE_LIVE", true), "serve subscriptions (live updates) over WebSocket at /graphql (env PROMOGATE_LIVE)")
		fs.IntVar(&c.liveSubscriptions, "live-max-subscriptions", envInt("PROMOGATE_LIVE_MAX_SUBSCRIPTIONS", 10000), "most subscriptions this process holds at once (env PROMOGATE_LIVE_MAX_SUBSCRIPTIONS)")
		fs.IntVar(&c.liveConnSubs, "live-max-subscriptions-per-connection", envInt("PROMOGATE_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20), "most subscriptions one WebSocket connection holds at once (env PROMOGATE_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION)")
		c.security.register(fs)
		fs.Int64Var(&c.maxPointsPerEffect, "max-points-per-effect", int64(envInt("PROMOGATE_MAX_POINTS_PER_EFFECT", 1_000_000)), "largest credit or debit one plugin effect may carry (env PROMOGATE_MAX_POINTS_PER_EFFECT)")
	}
	if err := errors.Join(envErrs...); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if name == "serve" && c.eventMaxSkew <= 0 {
		return nil, fmt.Errorf("--event-max-skew must be positive, got %s", c.eventMaxSkew)
	}
	if c.databaseURL == "" {
		return nil, errors.New("no database: set DATABASE_URL or --database-url (`make run` starts a private cluster for you)")
	}
	return c, nil
}

func (c *config) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "promogate",
		Level:      hclog.LevelFromString(c.logLevel),
		JSONFormat: c.logJSON,
		Output:     os.Stderr,
	})
}

func (c *config) clock() (clock.Clock, error) {
	if c.clockStart == "" && c.devClock {
		return clock.NewOffset(time.Now()), nil
	}
	if c.clockStart == "" {
		return clock.Real{}, nil
	}
	t, err := time.Parse(time.RFC3339, c.clockStart)
	if err != nil {
		return nil, fmt.Errorf("--clock-start: %w", err)
	}
	return clock.NewOffset(t), nil
}

func openDB(ctx context.Context, c *config) (*db.DB, error) {
	return db.Open(ctx, c.databaseURL, db.Options{MaxOpenConns: c.dbMaxConns, ApplicationName: "promogate"})
}

func runMigrate(args []string) error {
	c, err := parseConfig("migrate", args)
	if err != nil {
		return err
	}
	log := c.logger()
	ctx := context.Background()
	bdb, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer bdb.Close()
	applied, err := db.Migrate(ctx, bdb)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", len(applied), "names", applied)
	return nil
}

func runDemo(args []string) error {
	c, err := parseConfig("demo", args)
	if err != nil {
		return err
	}
	clk, err := c.clock()
	if err != nil {
		return err
	}
	ctx := context.Background()
	bdb, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer bdb.Close()
	return demo.Load(ctx, ledger.New(bdb, clk.Now), members.NewStore(bdb, clk.Now), c.logger())
}

func runServe(args []string) error {
	c, err := parseConfig("serve", args)
	if err != nil {
		return err
	}
	log := c.logger()
	clk, err := c.clock()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Take the address before anything touches the database, so a second server started by
	// mistake fails at once instead of migrating, loading the demo and starting its scheduler.
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another promogate running there? choose another address with --listen or PROMOGATE_LISTEN)", c.listen, err)
	}
	defer ln.Close()
	stopTracing, err := telemetry.StartTracing(ctx, c.otlpEndpoint, c.traceSampleRatio, version)
	if err != nil {
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("traces not flushed", "error", err)
		}
	}()

	bdb, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer bdb.Close()
	if c.migrate {
		applied, err := db.Migrate(ctx, bdb)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "count", len(applied))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		telemetry.NewPoolCollector(bdb, "promogate"), engine.NewBacklog(bdb, clk.Now))
	led := ledger.New(bdb, clk.Now)
	led.SetMetrics(ledger.NewMetrics(reg))
	mem := members.NewStore(bdb, clk.Now)
	if c.demo {
		if err := demo.Load(ctx, led, mem, log.Named("demo")); err != nil {
			return err
		}
	}
	host := pluginhost.New(bdb, log.Named("pluginhost"), clk.Now, pluginhost.NewMetrics(reg), pluginhost.Options{
		CallTimeout: c.pluginCallTimeout, StartTimeout: c.pluginStartTimeout, BackoffMax: c.pluginBackoffMax,
	})
	defer host.Close()
	if c.pluginsDir != "" {
		found, err := host.Discover(ctx, c.pluginsDir)
		if err != nil {
			return err
		}
		log.Info("plugins discovered", "dir", c.pluginsDir, "count", len(found))
	}
	camps := campaigns.NewStore(bdb, clk.Now, host)
	bens := benefits.NewStore(bdb)
	shadows := shadow.New(bdb, host, log.Named("shadow"), clk.Now, shadow.Options{Deadline: c.shadowDeadline})
	eng := engine.New(bdb, led, mem, camps, bens, host, log.Named("engine"), clk.Now, engine.Options{
		RetryMax: c.eventRetryMax, RecordBudget: c.recordBudget, Limits: engine.Limits{MaxPoints: c.maxPointsPerEffect},
		Metrics:       engine.NewMetrics(reg),
		MaxFutureSkew: c.eventMaxSkew,
		Shadows:       shadows,
	})
	rewardsSvc := rewards.New(rewards.Config{DB: bdb, Ledger: led, Members: mem, Campaigns: camps, Engine: eng, Plugins: host,
		Log: log.Named("rewards"), Now: clk.Now})
	if c.demo {
		if err := demo.LoadPrograms(ctx, demo.Deps{DB: bdb, Host: host, Rewards: rewardsSvc, Log: log.Named("demo"), Now: clk.Now}); err != nil {
			return err
		}
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	go eng.Run(workers)
	go shadows.Run(workers)
	hook := notify.Config{URL: c.webhookURL, Secret: []byte(c.webhookSecret)}
	if err := hook.Validate(); err != nil {
		return err
	}
	outboxMetrics := notify.NewMetrics(reg, bdb, clk.Now)
	if hook.URL != "" {
		d := notify.NewDispatcher(bdb, hook, &http.Client{}, log.Named("notify"), clk.Now)
		d.SetMetrics(outboxMetrics)
		go d.Run(workers)
	} else {
		log.Warn("no webhook configured (--webhook-url): notifications are stored but not delivered")
	}
	if c.schedulerInterval > 0 {
		sched := scheduler.New(bdb, led, bens, eng, host, log.Named("scheduler"), clk.Now, scheduler.Options{Interval: c.schedulerInterval, Metrics: scheduler.NewMetrics(reg)})
		go sched.Run(workers)
	}

	backtests := backtest.New(bdb, host, eng, camps, led, mem, log.Named("backtest"), clk.Now, backtest.Options{})
	go backtests.Run(workers)

	resolver := &graph.Resolver{Ledger: led, MemberStore: mem, Host: host, CampaignStore: camps, Engine: eng, Shadows: shadows, Backtests: backtests,
		BenefitStore: bens, Referrals: referral.New(bdb, eng, mem, clk.Now), NotificationStore: notify.NewStore(bdb),
		Explanations: explanation.NewStore(bdb), Log: log.Named("graphql"), Now: clk.Now,
		Rewards:     rewardsSvc,
		CodeLimiter: rewards.NewLimiter(rewards.LimiterOptions{})}
	if c.devClock {
		resolver.ClockSetter = clk.(*clock.Offset).Set
		log.Warn("development clock: the setClock mutation can move programme time")
	}
	sec, err := c.security.setup(ctx, bdb, clk.Now, c.introspection, log.Named("auth"))
	if err != nil {
		return err
	}
	defer sec.close()
	resolver.Auth = sec.store
	sec.graph.Telemetry = graph.NewTelemetry(reg)
	// WebSocket connections are hijacked, so srv.Shutdown does not wait for them: they are
	// closed when it starts, and their clients reconnect (to another replica).
	liveConns, closeLive := context.WithCancel(context.Background())
	defer closeLive()
	var liveOpen sync.WaitGroup
	// Every core relays the triggers' changes to the notification channel, whether or not it
	// serves subscriptions itself (docs/live.md).
	relay := &live.Relay{DB: bdb, Log: log.Named("live")}
	go relay.Run(workers)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "promogate_live_relayed_total",
			Help: "Changes (live_changes rows) this process's relay announced on the notification channel."}, func() float64 { return float64(relay.Relayed()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "promogate_live_relay_errors_total",
			Help: "Relay passes of this process that failed (a database outage)."}, func() float64 { return float64(relay.Errors()) }),
	)
	if c.live {
		hub := live.NewHub(c.liveSubscriptions)
		listener := &live.Listener{URL: c.databaseURL, Hub: hub, Log: log.Named("live")}
		go listener.Run(workers)
		resolver.Live = hub
		sec.graph.Live = &graph.LiveOptions{
			Stop:                liveConns,
			Open:                &liveOpen,
			Authenticate:        sec.authn.AuthenticateHeader,
			AuthenticateRequest: sec.authn.Authenticate,
			RateLimiter:         sec.limiter,
			MaxSubscriptions:    c.liveConnSubs,
			MaxMessageBytes:     sec.maxBody,
			Log:                 log.Named("websocket"),
		}
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "promogate_live_subscriptions",
				Help: "Subscriptions (live updates) open in this process."}, func() float64 { return float64(hub.Count()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "promogate_live_listening",
				Help: "1 while the live-update listener's database connection listens, else 0."}, func() float64 {
				if listener.Listening() {
					return 1
				}
				return 0
			}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "promogate_live_notifications_total",
				Help: "Database notifications the live-update listener received."}, func() float64 { return float64(listener.Received()) }),
		)
	}
	handler := web.Handler(web.Routes{
		GraphQL:      graph.NewHandler(resolver, sec.graph),
		Telemetry:    telemetry.NewHTTP(reg, log.Named("access")),
		Ready:        func(ctx context.Context) error { return db.Ready(ctx, bdb, c.databaseURL) },
		Log:          log.Named("web"),
		Extra:        map[string]http.Handler{"GET /metrics": promhttp.HandlerFor(reg, promhttp.HandlerOpts{})},
		Auth:         sec.auth,
		CORS:         sec.cors,
		MaxBodyBytes: sec.maxBody,
		Console:      console.Handler(console.Options{Sessions: sec.store, Limiter: sec.limiter, Log: log.Named("console")}),
	})
	if c.otlpEndpoint != "" {
		handler = otelhttp.NewHandler(handler, "http", otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.URL.Path != "/metrics"
		}))
		log.Info("tracing on", "otlp_endpoint", c.otlpEndpoint, "sample_ratio", c.traceSampleRatio)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	srv.RegisterOnShutdown(closeLive)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "address", "http://"+ln.Addr().String()+"/", "graphql", "/graphql", "version", version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "grace", c.shutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("drain incomplete", "error", err)
	}
	// Shutdown does not wait for WebSocket connections (they are hijacked): closeLive ended
	// them when it began; wait until each has sent its close frame.
	closed := make(chan struct{})
	go func() { liveOpen.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-shutdownCtx.Done():
		log.Warn("live connections still open at the end of the grace period")
	}
	stopWorkers()
	host.Close()
	log.Info("stopped")
	return nil
}

// envErrs collects environment variables that could not be parsed; parseConfig reports them.
var envErrs []error

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envBool(key string, def bool) bool {
	if v, ok := os.LookupEnv(key); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
		envErrs = append(envErrs, fmt.Errorf("%s=%q is not a boolean", key, v))
	}
	return def
}

func envInt(key string, def int) int {
	if v, ok := os.LookupEnv(key); ok {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
		envErrs = append(envErrs, fmt.Errorf("%s=%q is not an integer", key, v))
	}
	return def
}

func envFloat(key string, def float64) float64 {
	if v, ok := os.LookupEnv(key); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			return f
		}
		envErrs = append(envErrs, fmt.Errorf("%s=%q is not a number", key, v))
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(key); ok {
		d, err := time.ParseDuration(v)
		if err == nil {
			return d
		}
		envErrs = append(envErrs, fmt.Errorf("%s=%q is not a duration such as 20s", key, v))
	}
	return def
}
