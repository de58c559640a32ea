// Package cpustat reads the machine's CPU time from /proc/stat, so that a benchmark can report
// the share of CPU time that was idle over its measured window: at saturation a pipeline bound
// by CPU leaves next to none; one that waits (on locks, round trips, a fixed concurrency)
// leaves some.
package cpustat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sample is the machine's CPU time in clock ticks since boot, all CPUs together.
type Sample struct {
	Total, Idle uint64 // Idle counts idle and iowait
}

// Read returns the current sample; on a system without /proc/stat, an error.
func Read() (Sample, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return Sample{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[0] != "cpu" {
			continue
		}
		var s Sample
		// user nice system idle iowait irq softirq steal (guest time is within user already)
		for i, v := range fields[1:min(len(fields), 9)] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Sample{}, fmt.Errorf("cpustat: /proc/stat: %w", err)
			}
			s.Total += n
			if i == 3 || i == 4 {
				s.Idle += n
			}
		}
		return s, nil
	}
	if err := sc.Err(); err != nil {
		return Sample{}, err
	}
	return Sample{}, fmt.Errorf("cpustat: no cpu line in /proc/stat")
}

// IdleShare is the share (0 to 1) of the CPU time between a and b that was idle; -1 when no
// time passed or a sample is missing.
func IdleShare(a, b Sample) float64 {
	if b.Total <= a.Total {
		return -1
	}
	return float64(b.Idle-a.Idle) / float64(b.Total-a.Total)
}
