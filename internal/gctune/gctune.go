// Package gctune gives a short-lived process with a small live heap a
// larger garbage-collector heap target than Go's default.
//
// vql streams rows: its live heap is a few megabytes while it allocates
// gigabytes. At Go's default (GOGC=100, minimum heap 4 MiB) it collects
// every few megabytes of allocation, and collection was 12-25% of the
// CPU of a log parse (docs/performance.md). Start keeps the target at
// about max(floor, twice the live heap): a small live heap gets room up
// to floor, a large one is collected as Go would collect it, so peak
// memory stays bounded by max(floor, Go's own target).
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// minHeap is the Go runtime's minimum heap target at GOGC=100; it
// scales with GOGC (runtime/mgcpacer.go, defaultHeapMinimum).
const minHeap = 4 << 20

// Start tunes the GC from now on, unless the user set GOGC or
// GOMEMLIMIT (their choice wins). floor is the heap target, in bytes,
// while the live heap is below half of it. stop restores Go's default
// percentage and ends the tuning.
func Start(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || floor <= minHeap {
		return func() {}
	}
	t := &tuner{floor: floor, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
	// Before the first collection there is no live heap to read: start
	// at the largest percentage whose minimum heap stays within floor.
	t.set(0, 0)
	t.arm()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.stopped = true
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

type tuner struct {
	floor  uint64
	sample []metrics.Sample

	mu      sync.Mutex // a retune never lands after stop
	last    int
	limited bool
	stopped bool
}

// arm attaches a finalizer to a fresh object: it runs on the finalizer
// goroutine after the next collection finds the object unreachable,
// which is the one portable "a GC cycle ended" signal Go offers.
func (t *tuner) arm() {
	sentinel := new([16]byte)
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		if t.retune() {
			t.arm()
		}
	})
}

// retune reads the heap after a collection and tunes for it; false once
// stopped.
func (t *tuner) retune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	live, total, objects, released := value(t.sample[0]), value(t.sample[1]), value(t.sample[2]), value(t.sample[3])
	// What the memory limit counts (all Go memory but pages returned to
	// the OS) besides heap objects: stacks, runtime metadata, free pages.
	other := uint64(0)
	if total > objects+released {
		other = total - objects - released
	}
	t.set(live, other)
	return true
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// set tunes for a live heap of live bytes beside other bytes of Go
// memory that are not heap objects: the heap's target is what other
// leaves of floor. That alone still overshoots (Go's target also counts
// stacks and globals, and the heap holds more than its target between
// collections), so while twice the live heap and the rest fit in floor,
// a soft memory limit of floor holds the whole process to it. Beyond that the limit is lifted: a limit the
// heap cannot double under would collect more often than Go's default,
// and back to back under a growing live heap.
func (t *tuner) set(live, other uint64) {
	heap := t.floor / 2 // what is left of floor for the heap; other is never allowed all of it
	if other < heap {
		heap = t.floor - other
	}
	if p := Percent(live, heap); p != t.last {
		debug.SetGCPercent(p)
		t.last = p
	}
	if limit := live*2+other < t.floor; limit != t.limited {
		if limit {
			debug.SetMemoryLimit(int64(t.floor))
		} else {
			debug.SetMemoryLimit(math.MaxInt64)
		}
		t.limited = limit
	}
}

// Percent is the GOGC that puts the next heap target at floor for a
// live heap of live bytes: never below Go's 100, and never so high that
// the runtime's minimum heap (4 MiB scaled by GOGC) passes floor.
func Percent(live, floor uint64) int {
	top := int(floor * 100 / minHeap)
	if live == 0 {
		return top
	}
	if live*2 >= floor {
		return 100
	}
	p := int((floor - live) * 100 / live)
	if p > top {
		return top
	}
	if p < 100 {
		return 100
	}
	return p
}
