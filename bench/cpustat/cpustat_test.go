package cpustat

import "testing"

func TestIdleShare(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Sample
		want float64
	}{
		{"a quarter idle", Sample{Total: 100, Idle: 50}, Sample{Total: 300, Idle: 100}, 0.25},
		{"busy", Sample{Total: 100, Idle: 50}, Sample{Total: 200, Idle: 50}, 0},
		{"no time passed", Sample{Total: 100, Idle: 50}, Sample{Total: 100, Idle: 50}, -1},
		{"missing sample", Sample{}, Sample{}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IdleShare(tc.a, tc.b); got != tc.want {
				t.Errorf("IdleShare(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	s, err := Read()
	if err != nil {
		t.Skipf("no /proc/stat here: %v", err)
	}
	if s.Total == 0 || s.Idle > s.Total {
		t.Errorf("Read() = %+v: want a positive total holding the idle time", s)
	}
}
