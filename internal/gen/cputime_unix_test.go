//go:build unix

package gen

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) used so far by this
// process and by its children that have been waited for: the go command
// that go/packages runs is one.
func cpuTime() (time.Duration, bool) {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			return 0, false
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total, true
}
