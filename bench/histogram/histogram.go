// Package histogram records latencies for the benchmark load generators and reports their
// quantiles.
//
// A Histogram keeps counts in log-linear buckets (the HDR layout): values below 2^subBits
// microseconds are counted exactly, larger ones in buckets whose width is 1/2^subBits of their
// power of two, so any quantile is within 1/128 (0.8 %) of the true sample. It holds a fixed
// few kilobytes however many samples it records, and histograms of several workers merge
// exactly.
package histogram

import (
	"fmt"
	"math/bits"
	"time"
)

const (
	subBits    = 7 // 128 sub-buckets per power of two: relative error below 1/128
	subBuckets = 1 << subBits
	maxExp     = 40 // values up to 2^40 µs (about 12 days)
)

// Histogram counts durations at microsecond resolution. The zero value is ready to use. It is
// not safe for concurrent use: give each worker its own and Merge them.
type Histogram struct {
	counts [maxExp * subBuckets]uint64
	n      uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

// index returns the bucket of v microseconds.
func index(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	exp := bits.Len64(v) - subBits // ≥ 1
	if exp >= maxExp {
		return maxExp*subBuckets - 1
	}
	return exp*subBuckets + int(v>>uint(exp-1)) - subBuckets
}

// lowest returns the smallest value (µs) counted in bucket i, and its width.
func lowest(i int) (uint64, uint64) {
	if i < subBuckets {
		return uint64(i), 1
	}
	exp := i / subBuckets
	sub := uint64(i%subBuckets + subBuckets)
	return sub << uint(exp-1), 1 << uint(exp-1)
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[index(uint64(d/time.Microsecond))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every sample of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Mean returns the mean sample, or 0.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Max returns the largest sample.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the q-quantile (0 < q ≤ 1): the middle of the bucket holding the sample of
// rank ceil(q·n), clamped to the recorded minimum and maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := lowest(i)
			d := time.Duration(lo*2+w-1) * time.Microsecond / 2
			return max(h.min, min(d, h.max))
		}
	}
	return h.max
}

// String summarises the distribution in milliseconds.
func (h *Histogram) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("n=%d mean=%.2fms p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms",
		h.n, ms(h.Mean()), ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.max))
}
