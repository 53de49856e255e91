package activity

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of the process, so benchmarks
// can report throughput per CPU-second, which stays meaningful when other
// work shares the machine (wall-clock records/s does not).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
