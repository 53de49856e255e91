// Command bench times whole-process runs of the ms-management-activity
// binary against the Management Activity API emulator served on loopback by
// this process, the way the engine runs it (one exec per command, the
// envelope on stdin, the result on stdout), and prints a table:
//
//	go run ./internal/bench            # full run (about 3 minutes)
//	go run ./internal/bench -quick     # one repetition, smaller huge-feed checks
//
// For list-content and fetch-incidents over blobs × records (default 200 ×
// 500 = 100k records) at each latency (default 0 and 50 ms per request) and
// each parallelism (1, the reference's sequential behaviour, and 8, the
// default download_concurrency), it reports wall time, records/s, MB/s of
// blob JSON decoded, CPU time and peak RSS of the child, the limit
// ⌈blobs ÷ parallelism⌉ × latency + pages × latency + pure decode time, how
// far the measurement is from it, and the parallel/sequential ratio. Pure
// decode time and allocations/record come from the in-process benchmarks
// (go test -bench 'Command$' -cpu 1 ./commands), which it runs first.
//
// It then measures test-module's process overhead, the peak RSS of
// fetch-incidents over a 1M-record window with the default max_fetch, and a
// run against a tenant quota enforced by the emulator's front (AF429
// answers) to show the adaptive concurrency and the rate limiter at work.
//
// See internal/bench/README.md for the latest figures.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	tenant     = "contoso"
	hugeTenant = "fabrikam"
	ct         = "Audit.General"
)

func main() {
	if os.Getenv(launcherEnv) == "1" {
		launcherMain()
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg *config) error {
	tmp, err := os.MkdirTemp("", "msma-bench-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Println("temporary directory:", tmp)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	bin := cfg.bin
	if bin == "" {
		bin = filepath.Join(tmp, "ms-management-activity")
		logf("building %s", bin)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}

	var inproc map[string]goBench
	if !cfg.noGoBench && !cfg.search.only {
		if inproc, err = runGoBench(root, cfg.quick); err != nil {
			return err
		}
	}

	l, err := startLauncher()
	if err != nil {
		return err
	}
	defer l.close()
	f, err := newFront(cfg.tls)
	if err != nil {
		return err
	}
	defer f.close()
	b := &bencher{cfg: cfg, l: l, bin: bin, tmp: tmp, f: f}
	if cfg.search.only {
		return searchBench(b) // search.go
	}

	if err := b.seedFeed(); err != nil {
		return err
	}
	// One test-module run fills the token cache (integrationContext), which
	// every later run starts from, as the engine's runs do.
	if err := b.warmUp(); err != nil {
		return err
	}

	var rows []row
	for _, lat := range cfg.latencies {
		f.emu.SetLatency(lat)
		for _, cmd := range []string{"list-content", "fetch-incidents"} {
			for _, p := range cfg.pars {
				r, err := b.timed(cmd, lat, p)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
		}
	}
	f.emu.SetLatency(0)

	tm, err := b.testModule()
	if err != nil {
		return err
	}
	huge, err := b.hugeFetch()
	if err != nil {
		return err
	}
	var quota []quotaResult
	if !cfg.skipQuota {
		if quota, err = b.quotaRuns(); err != nil {
			return err
		}
	}
	report(os.Stdout, cfg, rows, inproc, tm, huge, quota, f, b.floor)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run bench inside the module (go run ./internal/bench)")
	}
	return filepath.Dir(mod), nil
}
