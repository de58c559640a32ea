package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat (100 on Linux).
const clockTicks = 100

// procStat is what the driver reads from /proc/PID/stat.
type procStat struct {
	ppid int
	comm string
	// cpu is user + system time in seconds; with children it includes reaped children's.
	cpu, withChildren float64
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	// Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return procStat{}, false
	}
	num := func(i int) float64 { n, _ := strconv.ParseFloat(f[i-3], 64); return n }
	ppid, _ := strconv.Atoi(f[1])
	cpu := (num(14) + num(15)) / clockTicks
	return procStat{ppid: ppid, comm: s[open+1 : end], cpu: cpu, withChildren: cpu + (num(16)+num(17))/clockTicks}, true
}

// children returns the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(p); ok && st.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// pluginPID returns the driver's child process running the binary at path, or 0.
func pluginPID(path string) int {
	want, _ := filepath.EvalSymlinks(path)
	for _, p := range children(os.Getpid()) {
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(p) + "/exe"); err == nil && exe == want {
			return p
		}
	}
	return 0
}

// hwmKB returns the peak resident set (VmHWM) of a process in KiB, or 0.
func hwmKB(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// resetHWM resets a process's peak resident set to its current one.
func resetHWM(pid string) {
	_ = os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0)
}

// clusterCPU is the CPU time of a PostgreSQL cluster: its postmaster with the children it has
// reaped, plus its live children.
func clusterCPU(postmaster int) float64 {
	st, ok := readStat(postmaster)
	if !ok {
		return 0
	}
	total := st.withChildren
	for _, c := range children(postmaster) {
		if cs, ok := readStat(c); ok {
			total += cs.cpu
		}
	}
	return total
}
