package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/internal/progress"
)

func report(w io.Writer, cfg *config, rows []row, inproc map[string]goBench, tm tmResult, huge hugeResult, quota []quotaResult, f *front, floor int64) {
	host, _ := os.Hostname()
	cpuModel := cpuName()
	fmt.Fprintf(w, "\n# ms-management-activity bench — %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %s, %s, %d cores (GOMAXPROCS %d), %s/%s, %s; load average at the end: %s\n",
		host, cpuModel, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	scheme := "plain HTTP"
	if f.tls {
		scheme = "TLS"
	}
	fmt.Fprintf(w, "feed: %d blobs × %d records (%s records); emulator on loopback (%s) in the bench process; best of %d repetition(s) (median in brackets)\n\n",
		cfg.blobs, cfg.perBlob, progress.Thousands(cfg.blobs*cfg.perBlob), scheme, cfg.reps)

	lc, fi := inproc["BenchmarkListContentCommand"], inproc["BenchmarkFetchIncidentsCommand"]
	if inproc != nil {
		fmt.Fprintf(w, "In-process, one core (go test ./commands -bench 'Command$|ListContentRender' -cpu 1 -benchmem; ListContentRender is decode + filter + render without HTTP or output writing):\n")
		fmt.Fprintf(w, "  %-32s %12s %14s %9s %14s\n", "benchmark", "records/s", "records/cpu-s", "MB/s", "allocs/record")
		for _, n := range []string{"BenchmarkListContentRender", "BenchmarkListContentCommand", "BenchmarkFetchIncidentsCommand"} {
			g, ok := inproc[n]
			if !ok {
				continue
			}
			apr := "—"
			if g.allocsPerRecord > 0 {
				apr = fmt.Sprintf("%.2f", g.allocsPerRecord)
			}
			fmt.Fprintf(w, "  %-32s %12s %14s %9.1f %14s\n", strings.TrimPrefix(n, "Benchmark"), progress.Thousands(int(g.recordsPerSec)), progress.Thousands(int(g.cpuRecordsPerSec)), g.mbPerSec, apr)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "| command | latency | P | runs | wall | records/s | MB/s | child CPU | peak RSS | requests (pages+blobs) | limit | wall/limit | P1/P8 |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	seq := map[string]time.Duration{}
	for _, r := range rows {
		if r.par == 1 {
			seq[fmt.Sprint(r.command, r.latency)] = r.wall
		}
	}
	for _, r := range rows {
		g := lc
		if r.command == "fetch-incidents" {
			g = fi
		}
		decode := time.Duration(0)
		rate := g.cpuRecordsPerSec
		if rate == 0 {
			rate = g.recordsPerSec
		}
		if rate > 0 {
			decode = time.Duration(float64(r.records) / rate * float64(time.Second))
		}
		limit := r.limitNet + decode
		ratio := "—"
		if s, ok := seq[fmt.Sprint(r.command, r.latency)]; ok && r.par != 1 {
			ratio = fmt.Sprintf("%.2f×", s.Seconds()/r.wall.Seconds())
		}
		name := r.command
		if r.command == "fetch-incidents" {
			name = "fetch-incidents (drain, max_fetch 10000)"
		}
		fmt.Fprintf(w, "| %s | %v | %d | %d | %s (%s) | %s | %.1f | %s | %s | %d+%d | %s | %.2f× | %s |\n",
			name, r.latency, r.par, r.runs, secs(r.wall), secs(r.wallMedian), progress.Thousands(int(float64(r.records)/r.wall.Seconds())),
			float64(r.bytes)/1e6/r.wall.Seconds(), secs(r.cpu), mib(r.maxRSS), r.pages, r.blob, secs(limit), r.wall.Seconds()/limit.Seconds(), ratio)
	}
	fmt.Fprintf(w, "\nlimit = Σ over runs of (⌈blobs needed ÷ P⌉ + listing pages) × latency + records ÷ (in-process records per CPU-second); process start-up and token reuse are not in it.\n")

	fmt.Fprintf(w, "\n| check | measured | target |\n|---|---|---|\n")
	fmt.Fprintf(w, "| test-module wall, warm token cache (median of %d / best) | %s / %s (CPU %s, RSS %s) | ≤ 20 ms |\n", tm.n, ms(tm.warmMedian), ms(tm.warmMin), ms(tm.warmCPU), mib(tm.maxRSS))
	fmt.Fprintf(w, "| test-module wall, cold (token request) | %s | — |\n", ms(tm.cold))
	fmt.Fprintf(w, "| fetch-incidents peak RSS, first run over a %s-record window (%d blobs), default max_fetch → %d incidents, %s | %s | ≤ 64 MiB |\n",
		progress.Thousands(huge.records), huge.blobs, huge.incidents, secs(huge.wall), mib(huge.maxRSS))
	fmt.Fprintf(w, "| fetch-incidents peak RSS, next %d runs from its lastRun (lastRun %s) | %s | ≤ 64 MiB |\n", huge.drainRuns, kib(huge.lastRunBytes), mib(huge.drainRSS))
	var lcRSS int64
	for _, r := range rows {
		if r.command == "list-content" {
			lcRSS = max(lcRSS, r.maxRSS)
		}
	}
	fmt.Fprintf(w, "| (floor of every peak RSS: the launcher's own) | %s | — |\n", mib(floor))
	fmt.Fprintf(w, "| list-content peak RSS returning %s records | %s | ≤ 256 MiB |\n", progress.Thousands(cfg.blobs*cfg.perBlob), mib(lcRSS))
	for _, r := range rows {
		if r.latency == 50*time.Millisecond && r.par != 1 {
			if s, ok := seq[fmt.Sprint(r.command, r.latency)]; ok {
				fmt.Fprintf(w, "| %s at 50 ms: P1 wall ÷ P%d wall | %.2f× | ≥ 6× |\n", r.command, r.par, s.Seconds()/r.wall.Seconds())
			}
		}
	}
	if g, ok := inproc["BenchmarkListContentRender"]; ok {
		fmt.Fprintf(w, "| decode + filter + context rendering, one core (ListContentRender) | %s records/CPU-s (%s records/s wall) | ≥ 300k |\n", progress.Thousands(int(g.cpuRecordsPerSec)), progress.Thousands(int(g.recordsPerSec)))
	}
	if lc.cpuRecordsPerSec > 0 {
		fmt.Fprintf(w, "| whole list-content command in-process, one core (+ listing, HTTP client, emulator handler, output writing) | %s records/CPU-s (%s records/s wall) | — |\n", progress.Thousands(int(lc.cpuRecordsPerSec)), progress.Thousands(int(lc.recordsPerSec)))
	}
	if len(quota) > 0 {
		fmt.Fprintf(w, "\nThrottling (list-content, %s records, 50 ms latency, P 8; the front answers AF429 above the quota):\n\n", progress.Thousands(cfg.blobs*cfg.perBlob))
		fmt.Fprintf(w, "| scenario | wall | ideal at quota | served/min | of quota | requests | throttled | ok |\n|---|---|---|---|---|---|---|---|\n")
		for _, q := range quota {
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.0f%% | %d | %d (%.1f%%) | %v |\n", q.name, secs(q.wall), secs(q.idealWall), q.achievedPerMin, q.utilising, q.requests, q.throttled, q.throttledPct, q.ok)
		}
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
func mib(n int64) string          { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
func kib(n int) string            { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
