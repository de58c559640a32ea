// Package pluginhost runs programme plugins as child processes (hashicorp/go-plugin over gRPC)
// and keeps their catalog in PostgreSQL.
//
// A plugin is identified by name and version; several versions run side by side, each in its
// own process. Every spawn verifies the binary's SHA-256 against the catalog (go-plugin's
// SecureConfig), talks gRPC over mutual TLS (AutoMTLS), and hides the core's environment from
// the plugin (SkipHostEnv). Calls carry a deadline. A process that exits, hangs past a deadline
// or fails a health ping is killed and respawned with exponential back-off; while it is backing
// off, calls fail fast with ErrUnavailable (the circuit is open), so callers can park work
// instead of waiting. Plugin stderr is logged through hclog under the plugin's name.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/plugins/sdk"
)

// Errors returned by the host.
var (
	// ErrNotFound means the catalog has no plugin with that name and version.
	ErrNotFound = db.NotFound("plugin not found")
	// ErrExists means the name and version are registered with another binary.
	ErrExists = errors.New("plugin version already registered with another binary")
	// ErrChecksumMismatch means the binary's SHA-256 is not the registered one.
	ErrChecksumMismatch = errors.New("plugin checksum mismatch")
	// ErrBinary means the path does not name an executable regular file.
	ErrBinary = errors.New("plugin binary not usable")
	// ErrDescribeMismatch means the binary describes itself with another name or version.
	ErrDescribeMismatch = errors.New("plugin describes itself differently")
	// ErrInvalid means the registration input is malformed.
	ErrInvalid = errors.New("invalid plugin registration")
	// ErrUnavailable means the plugin cannot be called now (starting failed, it crashed and is
	// backing off, or it is disabled, or it answered that it is unavailable); the work should
	// wait and be retried.
	ErrUnavailable = errors.New("plugin unavailable")
	// ErrInvalidConfig means the plugin refused to work with the campaign's configuration.
	ErrInvalidConfig = errors.New("invalid campaign config")
)

// Options tunes process management. Zero values take the defaults shown.
type Options struct {
	StartTimeout time.Duration // 10s: how long a spawn may take to complete the handshake
	CallTimeout  time.Duration // 10s: deadline of every call
	PingInterval time.Duration // 2s: health ping period
	BackoffMin   time.Duration // 100ms: first respawn delay
	BackoffMax   time.Duration // 30s: largest respawn delay
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, 10*time.Second)
	def(&o.CallTimeout, 10*time.Second)
	def(&o.PingInterval, 2*time.Second)
	def(&o.BackoffMin, 100*time.Millisecond)
	def(&o.BackoffMax, 30*time.Second)
}

// Entry is a catalog row.
type Entry struct {
	bun.BaseModel `bun:"table:plugins"`

	ID              int64       `bun:"id,pk,autoincrement"`
	Name            string      `bun:"name"`
	Version         string      `bun:"version"`
	Path            string      `bun:"path"`
	SHA256          string      `bun:"sha256"`
	ProtocolVersion int         `bun:"protocol_version"`
	Status          string      `bun:"status"`
	Description     Description `bun:"description,type:jsonb"`
	RegisteredAt    time.Time   `bun:"registered_at"`
	RegisteredBy    string      `bun:"registered_by"`
}

// Key names one plugin version.
type Key struct{ Name, Version string }

func (k Key) String() string { return k.Name + "@" + k.Version }

// Host owns the plugin processes of this core. It is safe for concurrent use.
type Host struct {
	db      *db.DB
	log     hclog.Logger
	now     func() time.Time
	opts    Options
	metrics *Metrics

	mu    sync.Mutex
	procs map[procKey]*proc

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a host using the catalog in bdb. Call Close to stop every plugin process.
func New(bdb *db.DB, log hclog.Logger, now func() time.Time, metrics *Metrics, opts Options) *Host {
	opts.defaults()
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	h := &Host{db: bdb, log: log, now: now, opts: opts, metrics: metrics, procs: map[procKey]*proc{}, stop: make(chan struct{})}
	metrics.host.Store(h)
	h.wg.Add(1)
	go h.supervise()
	return h
}

// Close stops the supervisor and kills every plugin process.
func (h *Host) Close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	h.wg.Wait()
	h.mu.Lock()
	procs := make([]*proc, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
}

// RegisterInput registers a plugin binary.
type RegisterInput struct {
	Name    string
	Version string
	Path    string
	// SHA256 is the expected hex digest of the binary; registration fails if it differs.
	SHA256 string
	// By names who registered it (an API key, "discovery", …).
	By string
}

var (
	nameRe    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	versionRe = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)
	shaRe     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Register checks the binary at in.Path against in.SHA256, starts it, asks it to describe
// itself, and records it in the catalog. Registering the same name, version, path and checksum
// again returns the existing entry. Errors: ErrInvalid, ErrBinary, ErrChecksumMismatch,
// ErrDescribeMismatch, ErrExists, ErrUnavailable (it would not start).
func (h *Host) Register(ctx context.Context, in RegisterInput) (*Entry, error) {
	if !nameRe.MatchString(in.Name) {
		return nil, fmt.Errorf("%w: name must match %s", ErrInvalid, nameRe)
	}
	if !versionRe.MatchString(in.Version) {
		return nil, fmt.Errorf("%w: version must be semantic (e.g. 1.2.0)", ErrInvalid)
	}
	if !shaRe.MatchString(in.SHA256) {
		return nil, fmt.Errorf("%w: sha256 must be 64 lower-case hex digits", ErrInvalid)
	}
	path, err := filepath.Abs(in.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBinary, err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	if sum != in.SHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, not %s", ErrChecksumMismatch, path, sum, in.SHA256)
	}
	var existing Entry
	err = h.db.NewSelect().Model(&existing).Where("name = ? AND version = ?", in.Name, in.Version).Scan(ctx)
	if err == nil {
		if existing.SHA256 == in.SHA256 && existing.Path == path {
			return &existing, nil
		}
		return nil, fmt.Errorf("%w: %s@%s is registered with sha256 %s", ErrExists, in.Name, in.Version, existing.SHA256)
	}
	desc, err := h.probe(ctx, path, sum)
	if err != nil {
		return nil, err
	}
	if desc.Name != in.Name || desc.Version != in.Version {
		return nil, fmt.Errorf("%w: the binary says it is %s@%s", ErrDescribeMismatch, desc.Name, desc.Version)
	}
	e := &Entry{Name: in.Name, Version: in.Version, Path: path, SHA256: sum, ProtocolVersion: sdk.ProtocolVersion,
		Status: "active", Description: desc, RegisteredAt: h.now().UTC(), RegisteredBy: in.By}
	if _, err := h.db.NewInsert().Model(e).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("pluginhost: insert catalog entry: %w", err)
	}
	h.metrics.known(Key{in.Name, in.Version})
	h.log.Info("plugin registered", "plugin", in.Name, "version", in.Version, "sha256", sum, "by", in.By)
	return e, nil
}

// RegisterFile registers the binary at path under the name and version it describes itself
// with: it computes the file's SHA-256, starts it once to ask, and calls Register. It is what
// `promogate plugin register PATH` does. Errors are Register's.
func (h *Host) RegisterFile(ctx context.Context, path, by string) (*Entry, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBinary, err)
	}
	sum, err := fileSHA256(abs)
	if err != nil {
		return nil, err
	}
	desc, err := h.probe(ctx, abs, sum)
	if err != nil {
		return nil, err
	}
	return h.Register(ctx, RegisterInput{Name: desc.Name, Version: desc.Version, Path: abs, SHA256: sum, By: by})
}

// Reload kills the plugin's process (if any), forgets its failures, starts it again from the
// catalog (verifying the checksum) and refreshes its description.
func (h *Host) Reload(ctx context.Context, k Key) (*Entry, error) {
	e, err := h.Entry(ctx, k)
	if err != nil {
		return nil, err
	}
	h.forget(k)
	prog, err := h.proc(procKey{Key: k}).program(ctx)
	if err != nil {
		return nil, err
	}
	desc, err := prog.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: describe: %v", ErrUnavailable, err)
	}
	e.Description = desc
	if _, err := h.db.NewUpdate().Model(e).Column("description").WherePK().Exec(ctx); err != nil {
		return nil, err
	}
	h.log.Info("plugin reloaded", "plugin", k.Name, "version", k.Version)
	return e, nil
}

// Entry returns the catalog entry of k, or ErrNotFound.
func (h *Host) Entry(ctx context.Context, k Key) (*Entry, error) {
	var e Entry
	if err := h.db.NewSelect().Model(&e).Where("name = ? AND version = ?", k.Name, k.Version).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s", db.Resolve(err, ErrNotFound), k)
	}
	return &e, nil
}

// EntryByID returns the catalog entry with the given row id, or ErrNotFound.
func (h *Host) EntryByID(ctx context.Context, id int64) (*Entry, error) {
	var e Entry
	if err := h.db.NewSelect().Model(&e).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%w: id %d", db.Resolve(err, ErrNotFound), id)
	}
	return &e, nil
}

// ValidateConfig asks plugin name@version to check a campaign configuration and returns its
// field errors (none when the configuration is acceptable).
func (h *Host) ValidateConfig(ctx context.Context, name, version string, config json.RawMessage) ([]FieldError, error) {
	k := Key{Name: name, Version: version}
	if _, err := h.Entry(ctx, k); err != nil {
		return nil, err
	}
	resp, err := h.Program(k).ValidateConfig(ctx, ValidateConfigRequest{Config: config})
	if err != nil {
		return nil, err
	}
	return resp.Errors, nil
}

// EntriesByKeys returns the catalog entries of the given keys; a key not registered is absent.
func (h *Host) EntriesByKeys(ctx context.Context, ks []Key) (map[Key]*Entry, error) {
	names, versions := make([]string, len(ks)), make([]string, len(ks))
	for i, k := range ks {
		names[i], versions[i] = k.Name, k.Version
	}
	var es []Entry
	if err := h.db.NewSelect().Model(&es).
		Where("(name, version) IN (SELECT * FROM unnest(?::text[], ?::text[]))", pgdialect.Array(names), pgdialect.Array(versions)).
		Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[Key]*Entry, len(es))
	for i := range es {
		out[Key{es[i].Name, es[i].Version}] = &es[i]
	}
	return out, nil
}

// Entries returns the whole catalog ordered by name and version.
func (h *Host) Entries(ctx context.Context) ([]Entry, error) {
	var es []Entry
	err := h.db.NewSelect().Model(&es).OrderExpr("name, registered_at").Scan(ctx)
	return es, err
}

// Program returns a handle that calls plugin k, starting its process on first use. Every call
// has the host's deadline, is counted in the metrics, and fails with ErrUnavailable while the
// process cannot be reached.
func (h *Host) Program(k Key) Program {
	return &instrumented{key: k, next: &client{h: h, key: procKey{Key: k}, timeout: h.opts.CallTimeout}, m: h.metrics}
}

// Isolated returns a handle like Program's whose calls go to a process of plugin k of their
// own, named by lane (not ""): its hangs and crashes, its back-off and open circuit are its
// own and never reach Program(k)'s process. Every call has the deadline timeout. Its calls
// are not counted in the plugin call metrics, which stay those of the service. Shadow runs
// (server/shadow) evaluate in the lane "shadow".
func (h *Host) Isolated(k Key, lane string, timeout time.Duration) Program {
	return &client{h: h, key: procKey{Key: k, lane: lane}, timeout: timeout}
}

// procKey names one process: a plugin version in a lane ("" for Program's).
type procKey struct {
	Key
	lane string
}

// Health reports the state of plugin k's process.
type Health struct {
	State               string // stopped, running, backoff
	Restarts            int
	ConsecutiveFailures int
	LastError           string
	RetryAt             time.Time
}

// Health returns the state of plugin k's process in this core.
func (h *Host) Health(k Key) Health {
	return h.IsolatedHealth(k, "")
}

// IsolatedHealth returns the state of plugin k's process of the lane in this core (see
// Isolated).
func (h *Host) IsolatedHealth(k Key, lane string) Health {
	h.mu.Lock()
	p := h.procs[procKey{Key: k, lane: lane}]
	h.mu.Unlock()
	if p == nil {
		return Health{State: "stopped"}
	}
	return p.health()
}

// Discover registers every executable file in dir, as "discovery". A binary whose name and
// version are already in the catalog from an earlier discovery but with another checksum (it
// was rebuilt) has its entry updated; one registered by anyone else is left alone and logged.
func (h *Host) Discover(ctx context.Context, dir string) ([]Entry, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pluginhost: read plugins directory: %w", err)
	}
	var out []Entry
	for _, f := range files {
		info, err := f.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		path, _ := filepath.Abs(filepath.Join(dir, f.Name()))
		sum, err := fileSHA256(path)
		if err != nil {
			h.log.Warn("plugin discovery: skipped", "path", path, "error", err)
			continue
		}
		desc, err := h.probe(ctx, path, sum)
		if err != nil {
			h.log.Warn("plugin discovery: skipped", "path", path, "error", err)
			continue
		}
		k := Key{desc.Name, desc.Version}
		e, err := h.Entry(ctx, k)
		switch {
		case err != nil:
			e, err = h.Register(ctx, RegisterInput{Name: desc.Name, Version: desc.Version, Path: path, SHA256: sum, By: "discovery"})
			if err != nil {
				h.log.Warn("plugin discovery: not registered", "path", path, "error", err)
				continue
			}
		case e.SHA256 != sum || e.Path != path:
			if e.RegisteredBy != "discovery" {
				h.log.Warn("plugin discovery: a registered version differs; left alone", "plugin", k.String(), "path", path)
				continue
			}
			e.SHA256, e.Path, e.Description = sum, path, desc
			if _, err := h.db.NewUpdate().Model(e).Column("sha256", "path", "description").WherePK().Exec(ctx); err != nil {
				return nil, err
			}
			h.forget(k)
			h.log.Info("plugin discovery: updated rebuilt binary", "plugin", k.String(), "sha256", sum)
		}
		h.metrics.known(k)
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].Version < out[j].Name+out[j].Version })
	return out, nil
}

// probe starts the binary once, asks it to describe itself and stops it.
func (h *Host) probe(ctx context.Context, path, sum string) (Description, error) {
	c, prog, err := h.spawn(Key{Name: filepath.Base(path), Version: "probe"}, path, sum)
	if err != nil {
		return Description{}, err
	}
	defer c.Kill()
	ctx, cancel := context.WithTimeout(ctx, h.opts.CallTimeout)
	defer cancel()
	desc, err := prog.Describe(ctx)
	if err != nil {
		return Description{}, fmt.Errorf("%w: describe: %v", ErrUnavailable, err)
	}
	return desc, nil
}

// spawn starts one plugin process with the checksum verified and returns its client.
func (h *Host) spawn(k Key, path, sum string) (*plugin.Client, Program, error) {
	raw, err := hex.DecodeString(sum)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad checksum %q", ErrInvalid, sum)
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(),
		Cmd:              pluginCommand(path),
		SecureConfig:     &plugin.SecureConfig{Checksum: raw, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		Managed:          true,
		StartTimeout:     h.opts.StartTimeout,
		// Plugin calls join the caller's trace (a client span each; the context travels in
		// the call's metadata, so a plugin may continue it).
		GRPCDialOptions: append(sdk.GRPCDialOptions(), grpc.WithStatsHandler(otelgrpc.NewClientHandler())),
		Logger:          h.log.Named("plugin").Named(k.Name).With("version", k.Version),
		SyncStdout:      io.Discard,
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			// Unavailable as well: events wait until an operator restores or re-registers the binary.
			return nil, nil, fmt.Errorf("%w: %w: %s no longer matches its registered sha256 %s", ErrUnavailable, ErrChecksumMismatch, path, sum)
		}
		return nil, nil, fmt.Errorf("%w: start %s: %v", ErrUnavailable, path, err)
	}
	prog, err := sdk.Dispense(rpc)
	if err != nil {
		c.Kill()
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return c, adaptRemote(prog), nil
}

// forget kills plugin k's processes of every lane and drops their records (and failures).
func (h *Host) forget(k Key) {
	h.mu.Lock()
	var gone []*proc
	for pk, p := range h.procs {
		if pk.Key == k {
			gone = append(gone, p)
			delete(h.procs, pk)
		}
	}
	h.mu.Unlock()
	for _, p := range gone {
		p.kill()
	}
}

// proc returns the process record for k, creating an idle one.
func (h *Host) proc(k procKey) *proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.procs[k]
	if p == nil {
		p = &proc{h: h, key: k.Key, lane: k.lane}
		h.procs[k] = p
		h.metrics.known(k.Key)
	}
	return p
}

// supervise pings running plugins and restarts exited ones whose back-off has passed.
func (h *Host) supervise() {
	defer h.wg.Done()
	t := time.NewTicker(h.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		procs := make([]*proc, 0, len(h.procs))
		for _, p := range h.procs {
			procs = append(procs, p)
		}
		h.mu.Unlock()
		for _, p := range procs {
			p.check()
		}
	}
}

func fileSHA256(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBinary, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is not an executable file", ErrBinary, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBinary, err)
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBinary, err)
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// pluginCommand is the command that starts a plugin binary, in a process group of its own: a
// terminal's Ctrl-C or a SIGTERM to the core's group reaches only the core, which then stops
// its plugins itself (go-plugin's graceful shutdown), so an orderly stop logs no plugin crash.
//
// A plugin gets none of the core's environment but sdk.CPUProfileEnv, when the core has it: a
// CPU profile of every plugin process (see sdk.Serve), for benchmarks.
func pluginCommand(path string) *exec.Cmd {
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if dir := os.Getenv(sdk.CPUProfileEnv); dir != "" {
		cmd.Env = []string{sdk.CPUProfileEnv + "=" + dir}
	}
	return cmd
}
