//go:build linux

package sdk_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promogate/promogate/plugins/sdk"
	"golang.org/x/sys/unix"
)

// TestPluginExitsWhenParentDies starts the plugin under a stand-in for the
// core, SIGKILLs the stand-in and expects the plugin to be gone soon after.
func TestPluginExitsWhenParentDies(t *testing.T) {
	path, _ := weekendDouble(t)
	// Orphans are re-parented to this process rather than to init, so that
	// the test can reap the plugin instead of leaving a zombie behind.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	// The shell starts the plugin in the background, prints its pid, and
	// becomes `sleep`, which stays the plugin's parent until it is killed.
	parent := exec.Command("sh", "-c", `"$0" & echo "pid $!"; exec sleep 60`, path)
	parent.Env = append(os.Environ(),
		sdk.Handshake.MagicCookieKey+"="+sdk.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS="+strconv.Itoa(sdk.ProtocolVersion),
	)
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })

	// Wait for the pid and for the plugin's handshake line (it is serving).
	pid, serving := 0, false
	lines := bufio.NewScanner(stdout)
	for (pid == 0 || !serving) && lines.Scan() {
		line := lines.Text()
		if p, ok := strings.CutPrefix(line, "pid "); ok {
			pid, _ = strconv.Atoi(p)
		} else if strings.HasPrefix(line, "1|1|") {
			serving = true
		}
	}
	if pid == 0 || !serving {
		t.Fatalf("plugin did not start (pid %d, serving %v): %v", pid, serving, lines.Err())
	}
	t.Cleanup(func() {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_, _ = syscall.Wait4(pid, nil, 0, nil)
		}
	})
	if !alive(pid) {
		t.Fatalf("plugin %d is not running before its parent dies", pid)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for alive(pid) {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("plugin %d still runs 5s after its parent was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("plugin exited %v after its parent was killed", time.Since(killed).Round(time.Millisecond))
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("reap plugin %d: %v", pid, err)
	}
	if ws.ExitStatus() != 2 {
		t.Errorf("plugin exit status %d, want 2", ws.ExitStatus())
	}
}

// alive reports whether pid is a running (not exited, not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
