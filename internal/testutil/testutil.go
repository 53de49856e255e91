// Package testutil holds the helpers several packages' tests share. Only
// tests import it, so none of it is in the executable.
package testutil

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writes, for logs and
// progress written from parallel downloads while a test reads them.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ProcessCPU returns the user+system CPU time of the process, so benchmarks
// can report throughput per CPU-second, which stays meaningful when other
// work shares the machine (wall-clock records/s does not).
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Executable is the import path of the ms-management-activity executable
// (package main at the module's root).
const Executable = "github.com/secops-go/ms-management-activity"

// BuildBinary builds the real executable into the test's temporary folder
// and returns its path (the build cache makes every build after the first
// a link).
func BuildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ms-management-activity")
	out, err := exec.Command("go", "build", "-o", bin, Executable).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
