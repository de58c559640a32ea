package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/db/dbtest"
)

// These tests supervise real plugin processes: e2e/plugins/misbehave, built into the test's
// temporary directory, whose campaign config chooses how Evaluate behaves (ok: credit 10 points
// per event; crash: exit the process; sleep: answer after sleepMs).

var misbehave = Key{Name: "misbehave", Version: "1.0.0"}

// built is the misbehave binary, built once for the package's tests (removed by TestMain).
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildMisbehave returns the path of a copy of the misbehave plugin in the test's temporary
// directory (a test may change or replace its copy).
func buildMisbehave(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "pluginhost-test-"); built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(built.dir, "misbehave"), "github.com/promogate/promogate/e2e/plugins/misbehave")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build misbehave: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	bin, err := os.ReadFile(filepath.Join(built.dir, "misbehave"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "misbehave")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// newHost returns a host on the package's database, closed when the test ends, with the
// catalog emptied of misbehave (every test registers its own build).
func newHost(t *testing.T, opts Options) (*Host, *Metrics) {
	t.Helper()
	bdb := dbtest.DB(t)
	if _, err := db.PG(bdb).Exec(context.Background(), `DELETE FROM plugins WHERE name = $1`, misbehave.Name); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(nil)
	h := New(bdb, hclog.NewNullLogger(), time.Now, m, opts)
	t.Cleanup(h.Close)
	return h, m
}

// register registers the binary at path as misbehave@1.0.0 with its own checksum.
func register(t *testing.T, h *Host, path string) *Entry {
	t.Helper()
	sum, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := h.Register(context.Background(), RegisterInput{Name: misbehave.Name, Version: misbehave.Version, Path: path, SHA256: sum, By: "test"})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return e
}

// evaluate calls the plugin's Evaluate on two events with the given mode.
func evaluate(h *Host, config string) (EvaluateResponse, error) {
	return h.Program(misbehave).Evaluate(context.Background(), EvaluateRequest{
		Campaign: Campaign{Code: "c", Config: json.RawMessage(config)},
		Items:    make([]EvaluateItem, 2),
	})
}

const (
	modeOK    = `{"mode":"ok"}`
	modeCrash = `{"mode":"crash"}`
)

// mustEvaluateOK calls the plugin in mode ok and checks its exact answer: a credit of 10 points
// for each of the two events.
func mustEvaluateOK(t *testing.T, h *Host) {
	t.Helper()
	resp, err := evaluate(h, modeOK)
	if err != nil {
		t.Fatalf("evaluate ok: %v", err)
	}
	if len(resp.Results) != 2 {
		t.Fatalf("evaluate ok: %d results, want 2", len(resp.Results))
	}
	for i, r := range resp.Results {
		if len(r.Effects) != 1 || r.Effects[0].Kind != KindCreditPoints || r.Effects[0].Credit == nil ||
			r.Effects[0].Credit.Amount != 10 || r.Effects[0].Credit.Reason != "misbehave ok" {
			t.Fatalf("evaluate ok: result %d = %+v, want one credit of 10 points (misbehave ok)", i, r)
		}
	}
}

// pid returns the process id of k's running process, or 0 when none runs.
func (h *Host) pid(k Key) int {
	return h.lanePid(k, "")
}

// lanePid returns the process id of k's running process of the lane, or 0 when none runs.
func (h *Host) lanePid(k Key, lane string) int {
	h.mu.Lock()
	p := h.procs[procKey{Key: k, lane: lane}]
	h.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil || p.client.Exited() {
		return 0
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// gone reports whether no process with the id exists (it exited and was reaped).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// waitFor polls cond every 10 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSpawn registers a binary (which starts it once to ask its name) and calls it: the first
// call starts one process, which answers, runs without the core's environment, and is reused.
func TestSpawn(t *testing.T) {
	t.Setenv("PROMOGATE_TEST_SECRET", "core-only")
	h, _ := newHost(t, Options{PingInterval: time.Hour})
	path := buildMisbehave(t)
	e := register(t, h, path)
	if e.Name != "misbehave" || e.Version != "1.0.0" || e.Status != "active" || e.Path != path ||
		e.Description.Name != "misbehave" || len(e.Description.EventTypes) != 1 || e.Description.EventTypes[0] != "purchase" {
		t.Fatalf("entry = %+v, want misbehave 1.0.0 active at %s handling purchase", e, path)
	}
	if got, err := h.Entry(context.Background(), misbehave); err != nil || got.ID != e.ID || got.SHA256 != e.SHA256 {
		t.Fatalf("catalog entry = %+v, %v; want the registered one (id %d)", got, err, e.ID)
	}
	if hl := h.Health(misbehave); hl.State != "stopped" || h.pid(misbehave) != 0 {
		t.Fatalf("after registration: health %+v, pid %d; want stopped (the probe's process is gone)", hl, h.pid(misbehave))
	}

	mustEvaluateOK(t, h)
	pid := h.pid(misbehave)
	if pid == 0 || gone(pid) {
		t.Fatalf("after a call: pid %d; want a live process", pid)
	}
	if hl := h.Health(misbehave); hl != (Health{State: "running"}) {
		t.Fatalf("after a call: health %+v, want running with no failures or restarts", hl)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(env), "PROMOGATE_TEST_SECRET") {
		t.Errorf("the plugin process sees the core's environment (PROMOGATE_TEST_SECRET is set in it)")
	}
	mustEvaluateOK(t, h)
	if again := h.pid(misbehave); again != pid {
		t.Fatalf("second call ran in process %d, want the running %d", again, pid)
	}
}

// TestRestartBackoff crashes the plugin again and again: after each crash, calls fail fast with
// ErrUnavailable without starting a process until the back-off has passed; the back-off doubles
// with each consecutive failure up to BackoffMax; a good call resets the count.
func TestRestartBackoff(t *testing.T) {
	const lo, hi = 500 * time.Millisecond, 1200 * time.Millisecond
	h, m := newHost(t, Options{PingInterval: time.Hour, BackoffMin: lo, BackoffMax: hi})
	register(t, h, buildMisbehave(t))
	mustEvaluateOK(t, h)

	crash := func(failures int, backoff time.Duration) Health {
		t.Helper()
		before := time.Now()
		_, err := evaluate(h, modeCrash)
		after := time.Now()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("crash %d: error %v, want ErrUnavailable", failures, err)
		}
		hl := h.Health(misbehave)
		if hl.State != "backoff" || hl.ConsecutiveFailures != failures || hl.LastError == "" {
			t.Fatalf("crash %d: health %+v, want backoff after %d consecutive failures", failures, hl, failures)
		}
		if hl.RetryAt.Before(before.Add(backoff)) || hl.RetryAt.After(after.Add(backoff)) {
			t.Fatalf("crash %d: retry at %s after the call's start, want a back-off of %s", failures, hl.RetryAt.Sub(before), backoff)
		}
		return hl
	}
	restarts := func() float64 {
		var out dto.Metric
		if err := m.restarts.WithLabelValues(misbehave.Name, misbehave.Version).Write(&out); err != nil {
			t.Fatal(err)
		}
		return out.GetCounter().GetValue()
	}

	hl := crash(1, lo)
	// The circuit is open: a call fails at once and no process is started.
	if _, err := evaluate(h, modeOK); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "backing off") {
		t.Fatalf("call while backing off: %v, want ErrUnavailable (backing off)", err)
	}
	if got := h.Health(misbehave); got.Restarts != 0 || got.ConsecutiveFailures != 1 || h.pid(misbehave) != 0 {
		t.Fatalf("call while backing off: health %+v, pid %d; want no restart, one failure, no process", got, h.pid(misbehave))
	}

	time.Sleep(time.Until(hl.RetryAt))
	hl = crash(2, 2*lo) // restarted, crashed again: twice the back-off
	if hl.Restarts != 1 || restarts() != 1 {
		t.Fatalf("after the second crash: %d restarts (metric %v), want 1", hl.Restarts, restarts())
	}
	time.Sleep(time.Until(hl.RetryAt))
	hl = crash(3, hi) // 4 × lo is past BackoffMax
	if hl.Restarts != 2 {
		t.Fatalf("after the third crash: %d restarts, want 2", hl.Restarts)
	}

	time.Sleep(time.Until(hl.RetryAt))
	mustEvaluateOK(t, h)
	if got := h.Health(misbehave); got.State != "running" || got.Restarts != 3 || got.ConsecutiveFailures != 0 || restarts() != 3 {
		t.Fatalf("after recovery: health %+v (restart metric %v), want running, 3 restarts, no consecutive failures", got, restarts())
	}
}

// TestSupervisorRestartsAKilledProcess kills the plugin process behind the host's back: the
// health ping notices, and the supervisor starts a new process once the back-off has passed,
// without any call.
func TestSupervisorRestartsAKilledProcess(t *testing.T) {
	h, _ := newHost(t, Options{PingInterval: 20 * time.Millisecond, BackoffMin: 50 * time.Millisecond})
	register(t, h, buildMisbehave(t))
	mustEvaluateOK(t, h)
	old := h.pid(misbehave)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restarted process", func() bool {
		pid := h.pid(misbehave)
		return pid != 0 && pid != old && h.Health(misbehave).Restarts == 1
	})
	if hl := h.Health(misbehave); hl.State != "running" || hl.LastError == "" {
		t.Fatalf("after the restart: health %+v, want running with the failure recorded", hl)
	}
	if !gone(old) {
		t.Errorf("process %d still exists", old)
	}
	mustEvaluateOK(t, h)
}

// TestChecksumRefusal: a binary whose SHA-256 is not the expected one is neither registered nor
// started; a registered binary changed on disk afterwards is refused at its next start, with
// ErrUnavailable (events wait) and ErrChecksumMismatch.
func TestChecksumRefusal(t *testing.T) {
	h, _ := newHost(t, Options{PingInterval: time.Hour, BackoffMin: time.Millisecond})
	path := buildMisbehave(t)
	ctx := context.Background()

	_, err := h.Register(ctx, RegisterInput{Name: misbehave.Name, Version: misbehave.Version, Path: path, SHA256: strings.Repeat("0", 64), By: "test"})
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("register with a wrong checksum: %v, want ErrChecksumMismatch", err)
	}
	if _, err := h.Entry(ctx, misbehave); !errors.Is(err, ErrNotFound) {
		t.Fatalf("catalog after a refused registration: %v, want ErrNotFound", err)
	}

	register(t, h, path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tampered")); err != nil { // still a runnable ELF file
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = evaluate(h, modeOK)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("call to a changed binary: %v, want ErrUnavailable and ErrChecksumMismatch", err)
	}
	if hl := h.Health(misbehave); hl.Restarts != 0 || hl.ConsecutiveFailures != 1 || !strings.Contains(hl.LastError, "no longer matches") || h.pid(misbehave) != 0 {
		t.Fatalf("after the refusal: health %+v, pid %d; want one failure naming the checksum, no process", hl, h.pid(misbehave))
	}
	if _, err := h.Reload(ctx, misbehave); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("reload of a changed binary: %v, want ErrChecksumMismatch", err)
	}
}

// TestKill: a call that overruns its deadline kills the process (ErrUnavailable, back-off), and
// Close kills every running process.
func TestKill(t *testing.T) {
	h, _ := newHost(t, Options{PingInterval: time.Hour, CallTimeout: 300 * time.Millisecond, BackoffMin: time.Millisecond})
	register(t, h, buildMisbehave(t))
	mustEvaluateOK(t, h)
	hung := h.pid(misbehave)
	_, err := evaluate(h, `{"mode":"sleep","sleepMs":60000}`)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "did not answer within the 300ms deadline") {
		t.Fatalf("hung call: %v, want ErrUnavailable naming the deadline", err)
	}
	if !gone(hung) {
		t.Fatalf("the hung process %d still exists", hung)
	}
	if hl := h.Health(misbehave); hl.ConsecutiveFailures != 1 || !strings.Contains(hl.LastError, "deadline") || h.pid(misbehave) != 0 {
		t.Fatalf("after the hung call: health %+v, pid %d; want one failure naming the deadline, no process", hl, h.pid(misbehave))
	}

	waitFor(t, "the back-off to pass", func() bool { return !time.Now().Before(h.Health(misbehave).RetryAt) })
	mustEvaluateOK(t, h)
	running := h.pid(misbehave)
	if running == 0 || running == hung {
		t.Fatalf("after the back-off: pid %d, want a new process (the hung one was %d)", running, hung)
	}
	h.Close()
	if !gone(running) {
		t.Fatalf("process %d still exists after Close", running)
	}
	if hl := h.Health(misbehave); hl.State != "stopped" {
		t.Fatalf("after Close: health %+v, want stopped", hl)
	}
}

// TestIsolatedLane: an isolated lane runs its own process of the plugin with its own deadline
// and back-off; its hang and crash leave Program's process running and its health clean.
func TestIsolatedLane(t *testing.T) {
	h, _ := newHost(t, Options{PingInterval: time.Hour, CallTimeout: 5 * time.Second, BackoffMin: time.Minute})
	register(t, h, buildMisbehave(t))
	mustEvaluateOK(t, h)
	live := h.pid(misbehave)
	lane := h.Isolated(misbehave, "shadow", 200*time.Millisecond)
	call := func(config string) error {
		_, err := lane.Evaluate(context.Background(), EvaluateRequest{Campaign: Campaign{Code: "c", Config: json.RawMessage(config)},
			Items: make([]EvaluateItem, 1)})
		return err
	}
	if err := call(modeOK); err != nil {
		t.Fatalf("isolated call: %v", err)
	}
	shadow := h.lanePid(misbehave, "shadow")
	if shadow == 0 || shadow == live {
		t.Fatalf("isolated lane pid %d, live pid %d: want a process of its own", shadow, live)
	}
	if err := call(`{"mode":"sleep","sleepMs":60000}`); !errors.Is(err, ErrUnavailable) ||
		!strings.Contains(err.Error(), "did not answer within the 200ms deadline") {
		t.Fatalf("hung isolated call: %v, want ErrUnavailable naming the lane's deadline", err)
	}
	if !gone(shadow) {
		t.Fatalf("the hung isolated process %d still exists", shadow)
	}
	if err := call(modeOK); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "backing off") {
		t.Fatalf("isolated call during its back-off: %v, want its own open circuit", err)
	}
	if hl := h.IsolatedHealth(misbehave, "shadow"); hl.State != "backoff" || hl.ConsecutiveFailures != 1 {
		t.Fatalf("isolated health %+v, want backoff after one failure", hl)
	}
	mustEvaluateOK(t, h)
	if hl := h.Health(misbehave); h.pid(misbehave) != live || hl.State != "running" || hl.ConsecutiveFailures != 0 || hl.Restarts != 0 {
		t.Fatalf("live process after the lane's failure: pid %d (was %d), health %+v", h.pid(misbehave), live, hl)
	}
}
