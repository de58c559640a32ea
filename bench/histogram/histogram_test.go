package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestQuantilesMatchSortedSamples compares the histogram's quantiles with those of the sorted
// samples: within the bucket resolution (1/128) plus one microsecond.
func TestQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b Histogram
	var all []time.Duration
	for i := 0; i < 200_000; i++ {
		// Log-uniform between 10 µs and 10 s.
		d := time.Duration(10_000 * math.Pow(10, r.Float64()*6))
		all = append(all, d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(all)
	if a.Count() != uint64(len(all)) {
		t.Fatalf("count %d, want %d", a.Count(), len(all))
	}
	for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
		want := all[int(q*float64(len(all))+0.999999)-1]
		got := a.Quantile(q)
		diff := got - want
		if diff < 0 {
			diff = -diff
		}
		if diff > want/128+time.Microsecond {
			t.Errorf("q%.3f: got %s, want %s", q, got, want)
		}
	}
	if a.Max() != all[len(all)-1] {
		t.Errorf("max %s, want %s", a.Max(), all[len(all)-1])
	}
}

func TestSmallValuesAreExact(t *testing.T) {
	var h Histogram
	for _, us := range []int{1, 2, 3, 100, 127, 128, 200, 255} {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	if got := h.Quantile(0.5); got != 100*time.Microsecond {
		t.Errorf("median %s, want 100µs", got)
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("empty histogram should report zeros")
	}
}
