package sdk

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// parentPollInterval is how often a served plugin checks that the core that
// started it is still alive.
const parentPollInterval = 250 * time.Millisecond

// Serve serves p as a program plugin and returns when the host ends the
// plugin. Call it from main and nothing else:
//
//	func main() { sdk.Serve(&Plugin{}) }
//
// Serve logs as JSON on stderr, which the host reads and files under the
// plugin's name; log/slog's default logger is set to write there too, so
// slog.Info and friends are all a plugin needs. Standard output is captured by
// the host; do not print to it.
//
// The process exits by itself as soon as its parent process changes (the core
// was killed without being able to stop its plugins), so no plugin outlives
// the core. Run directly from a shell, the binary refuses to start.
//
// With the environment variable PROMOGATE_PLUGIN_CPUPROFILE set to a
// directory (the core passes on that one variable), the process writes
// a CPU profile of its whole life there, as <binary>.<pid>.cpu.pprof, when the
// host stops it (go-plugin's graceful shutdown); unset, nothing is profiled.
func Serve(p Program) {
	// Captured before plugin.Serve swaps os.Stderr for a pipe to the host's
	// stdio stream: logs must reach the real stderr, which the host parses.
	stderr := os.Stderr
	slog.SetDefault(slog.New(newLogHandler(stderr)))
	go exitWhenOrphaned(os.Getppid(), parentPollInterval)
	if dir := os.Getenv(CPUProfileEnv); dir != "" {
		stop, err := startCPUProfile(dir)
		if err != nil {
			slog.Error("cannot profile", "env", CPUProfileEnv, "error", err)
		} else {
			defer stop()
		}
	}

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {PluginName: &GRPCPlugin{Impl: p}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts,
				grpc.MaxRecvMsgSize(MaxMessageBytes),
				grpc.MaxSendMsgSize(MaxMessageBytes),
			))
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "plugin",
			Level:      hclog.Debug,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}

// CPUProfileEnv names the environment variable that makes Serve profile the
// plugin process's CPU into the directory it holds (see Serve).
const CPUProfileEnv = "PROMOGATE_PLUGIN_CPUPROFILE"

// startCPUProfile starts a CPU profile into dir and returns what stops it and
// closes the file.
func startCPUProfile(dir string) (func(), error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.cpu.pprof", filepath.Base(os.Args[0]), os.Getpid())))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			slog.Error("cannot write the CPU profile", "error", err)
		}
	}, nil
}

// exitWhenOrphaned exits the process once its parent is no longer ppid. When
// the core dies, even by SIGKILL, the plugin is re-parented (to init or a
// subreaper) and its parent pid changes.
func exitWhenOrphaned(ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			slog.Error("parent process is gone, exiting", "parent_pid", ppid)
			os.Exit(2)
		}
	}
}

// newLogHandler returns a slog JSON handler that writes in the shape of
// hclog's JSON format (@timestamp, @level, @message), which go-plugin's host
// parses into levelled log lines.
func newLogHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

// hclogLevel names a slog level the way hclog does.
func hclogLevel(v any) string {
	level, ok := v.(slog.Level)
	if !ok {
		return "info"
	}
	switch {
	case level < slog.LevelDebug:
		return "trace"
	case level < slog.LevelInfo:
		return "debug"
	case level < slog.LevelWarn:
		return "info"
	case level < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
