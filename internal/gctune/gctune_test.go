package gctune

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 48 * mib, 1200},        // no live heap yet: minimum heap = floor
		{1 * mib, 48 * mib, 1200},  // capped so the minimum heap stays at floor
		{8 * mib, 48 * mib, 500},   // 8 + 8*5 = 48
		{16 * mib, 48 * mib, 200},  // 16 + 16*2 = 48
		{20 * mib, 48 * mib, 140},  // 20 + 28 = 48
		{24 * mib, 48 * mib, 100},  // half the floor: Go's default
		{300 * mib, 48 * mib, 100}, // a large heap is Go's business
	} {
		if got := Percent(c.live, c.floor); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
	}
}

// setting reads the GC percentage and memory limit without writing
// them (a write could race with the tuner's own).
func setting() (int, int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

func TestStartRetunesAfterEachGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	const floor = 48 << 20
	stop := Start(floor)
	t.Cleanup(stop)
	if p, limit := setting(); p != 1200 || limit != floor {
		t.Fatalf("after Start: GOGC %d, limit %d; want 1200 and %d", p, limit, floor)
	}

	// A live heap of 30 MiB (over half the floor) must bring Go's
	// default back and lift the limit after the next collection.
	keep := make([][]byte, 30)
	for i := range keep {
		keep[i] = make([]byte, 1<<20)
	}
	waitFor(t, func() bool { p, l := setting(); return p == 100 && l == math.MaxInt64 })
	runtime.KeepAlive(keep)

	// Dropping it gives the room back.
	keep = nil
	waitFor(t, func() bool { p, l := setting(); return p > 100 && l == floor })

	stop() // again at Cleanup: harmless
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if p, limit := setting(); p != 100 || limit != math.MaxInt64 {
		t.Fatalf("after stop: GOGC %d, limit %d", p, limit)
	}
}

// waitFor collects until cond holds: the tuner runs on the finalizer
// goroutine after a collection, so one runtime.GC is not always enough.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 50; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		if cond() {
			return
		}
	}
	p, l := setting()
	t.Fatalf("tuner did not retune: GOGC %d, limit %d", p, l)
}

func TestUserSettingWins(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "150")
			before, limit := setting()
			t.Cleanup(Start(48 << 20))
			if p, l := setting(); p != before || l != limit {
				t.Fatalf("%s set: Start changed GOGC %d -> %d, limit %d -> %d", env, before, p, limit, l)
			}
		})
	}
}
