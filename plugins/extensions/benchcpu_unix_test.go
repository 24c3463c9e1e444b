//go:build unix

package extensions

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time: on a shared machine
// the walk's cost per CPU second is the stable figure.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
