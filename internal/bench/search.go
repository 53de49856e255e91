package main

// The search-records scenario (issue 13): one search over every content
// type for a week, by user, against a lazily rendered feed, timed as a
// whole process like the other scenarios.
//
//	go run ./internal/bench -search          # 7 days × 5 content types × 100k records/day, 50 ms, P16
//	go run ./internal/bench -search -search-days 1 -search-per-day 20000   # a quick check

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// searchConfig is the scenario's part of the command line (see
// registerSearchFlags).
type searchConfig struct {
	only    bool
	days    int
	perDay  int // records per content type per day
	perBlob int
	latency time.Duration
	par     int
	rpm     int
}

func registerSearchFlags(fs *flag.FlagSet, c *searchConfig) {
	fs.BoolVar(&c.only, "search", false, "run only the search-records scenario")
	fs.IntVar(&c.days, "search-days", 7, "search-records scenario: days searched (1 to 7)")
	fs.IntVar(&c.perDay, "search-per-day", 100_000, "search-records scenario: records per content type per day")
	fs.IntVar(&c.perBlob, "search-per-blob", 500, "search-records scenario: records per blob")
	fs.DurationVar(&c.latency, "search-latency", 50*time.Millisecond, "search-records scenario: per-request latency")
	fs.IntVar(&c.par, "search-parallelism", 16, "search-records scenario: download_concurrency")
	// The client's rate limiter exists for Microsoft's tenant quota (2000
	// requests per minute by default), which the emulator does not have;
	// the scenario measures the pipeline, so it lifts the limiter and the
	// report states what the default quota alone would cost.
	fs.IntVar(&c.rpm, "search-rpm", 60_000, "search-records scenario: requests_per_minute of the child")
}

const (
	searchTenant = "woodgrove"
	searchUser   = "megan.bowen@contoso.onmicrosoft.com" // one of the emulator's demo users
)

var scannedRE = regexp.MustCompile(`: (\d+) listings? .*?, ([\d,]+) blobs?, ([\d,]+) records? in`)

func atoiCommas(s string) int {
	n, _ := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	return n
}

// searchBench runs the scenario once and prints its report.
func searchBench(b *bencher) error {
	sc := &b.cfg.search
	if sc.days < 1 || sc.days > 7 {
		return fmt.Errorf("-search-days must be 1 to 7")
	}
	f := b.f
	f.emu.AddTenant(searchTenant)
	types := []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}
	for _, t := range types {
		f.emu.Subscribe(searchTenant, t)
	}
	now := f.emu.Now().UTC().Truncate(time.Second)
	// Events over the whole week (clear of the API's 7-day listing limit,
	// which the command keeps 15 minutes away from); every blob is
	// available by now.
	days := time.Duration(sc.days) * 24 * time.Hour
	start := now.Add(-days + 20*time.Minute)
	span := now.Add(-40 * time.Minute).Sub(start)
	blobsPerType := sc.days * sc.perDay / sc.perBlob
	logf("search: generating %d content types × %d blobs × %d records (lazy)", len(types), blobsPerType, sc.perBlob)
	gen := f.emu.Generate(searchTenant, emulator.Generation{
		Seed: 13, ContentTypes: types, Blobs: blobsPerType, RecordsPerBlob: sc.perBlob,
		Start: start, Span: span, Delay: 30 * time.Minute, Lazy: true,
	})
	b.params = withParams(f.params(searchTenant), map[string]any{
		"download_concurrency": strconv.Itoa(sc.par),
		"requests_per_minute":  strconv.Itoa(sc.rpm),
	})
	if err := b.warmUp(); err != nil {
		return err
	}
	f.emu.SetLatency(sc.latency)
	defer f.emu.SetLatency(0)
	args := map[string]any{
		"user_ids":   searchUser,
		"limit":      "100000",
		"start_time": start.Format("2006-01-02T15:04:05"),
		"end_time":   now.Format("2006-01-02T15:04:05"),
	}
	p0, bl0 := b.counts()
	by0 := f.blobBytes.Load()
	logf("search: search-records user_ids=%s over %v, latency %v, parallelism %d", searchUser, days, sc.latency, sc.par)
	load0 := loadAvg()
	emuCPU0 := selfCPU()
	c, err := b.exec(b.envelope("ms-management-activity-search-records", b.params, args, nil))
	if err != nil {
		return err
	}
	emuCPU := selfCPU() - emuCPU0
	o, err := c.decode()
	if err != nil {
		return err
	}
	p1, bl1 := b.counts()
	pages, blobReqs := p1-p0, bl1-bl0
	bytes := f.blobBytes.Load() - by0

	matches := 0
	for _, e := range o.Results {
		if e.Type == 1 {
			if recs, ok := e.Contents.([]any); ok {
				matches = len(recs)
			}
		}
	}
	hr, err := c.humanReadable()
	if err != nil {
		return err
	}
	m := scannedRE.FindStringSubmatch(hr)
	if m == nil {
		return fmt.Errorf("search: no scanned line in the output: %s", firstN(hr, 2000))
	}
	listings, blobsRead, records := atoiCommas(m[1]), atoiCommas(m[2]), atoiCommas(m[3])
	if blobsRead != gen.Blobs || records != gen.Records {
		return fmt.Errorf("search scanned %d blobs and %d records, the feed has %d and %d", blobsRead, records, gen.Blobs, gen.Records)
	}
	if strings.Contains(hr, "incomplete") {
		return fmt.Errorf("search says it is incomplete: %s", firstN(hr[strings.Index(hr, "Scanned"):], 1000))
	}

	want, err := expectedMatches(f.emu, types, start, now)
	if err != nil {
		return err
	}
	if matches != want {
		return fmt.Errorf("search returned %d matches, the feed has %d records of %s in the range", matches, want, searchUser)
	}

	lat := sc.latency
	bound := time.Duration(ceilDiv(blobReqs, sc.par)) * lat
	quotaBound := time.Duration(float64(pages+blobReqs-2000) / 2000 * float64(time.Minute))
	w := os.Stdout
	fmt.Fprintf(w, "# search-records bench — %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	host, _ := os.Hostname()
	fmt.Fprintf(w, "machine: %s, %s, %d cores (GOMAXPROCS %d), %s/%s, %s; load average at the end: %s\n",
		host, cpuName(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	fmt.Fprintf(w, "feed: %d content types × %d days × %s records/day = %s records in %s blobs of %d (%.0f MB of JSON), lazily rendered by the emulator in the bench process\n",
		len(types), sc.days, progress.Thousands(sc.perDay), progress.Thousands(gen.Records), progress.Thousands(gen.Blobs), sc.perBlob, float64(bytes)/1e6)
	fmt.Fprintf(w, "search: user_ids=%s limit=100000 over %s → %s matches (the feed's ground truth has as many); latency %v, download_concurrency %d, requests_per_minute %d\n\n",
		searchUser, days, progress.Thousands(matches), lat, sc.par, sc.rpm)
	fmt.Fprintf(w, "| wall | records/s scanned | MB/s | child CPU | emulator CPU | peak RSS | listings | requests (pages+blobs) | lower bound (blobs ÷ P × latency) | wall/bound |\n|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %s | %s | %.1f | %s | %s | %s | %d | %d+%d | %s | %.2f× |\n\n",
		secs(c.wall), progress.Thousands(int(float64(records)/c.wall.Seconds())), float64(bytes)/1e6/c.wall.Seconds(), secs(c.cpu), secs(emuCPU), mib(c.maxRSS),
		listings, pages, blobReqs, secs(bound), c.wall.Seconds()/bound.Seconds())
	fmt.Fprintf(w, "load average before the run: %s (other work shares the cores: wall times are noisy, CPU times less so)\n", load0)
	fmt.Fprintf(w, "targets: wall ≤ 60 s, peak RSS ≤ 128 MiB (floor of every peak RSS, the launcher's own: %s)\n", mib(b.floor))
	if quotaBound > 0 {
		fmt.Fprintf(w, "note: at the default requests_per_minute of 2000 (Microsoft's baseline tenant quota) the %d requests alone would take at least %s\n", pages+blobReqs, quotaBound.Round(time.Second))
	}
	return nil
}

// expectedMatches counts the feed's records of searchUser (UserId or
// UserKey) whose CreationTime lies in [start, end], from the emulator's
// ground truth and encoding/json, independently of the code under test.
// It walks the feed a day of availability at a time, so the bench process
// holds one day of records, not the week.
func expectedMatches(emu *emulator.Server, types []string, start, end time.Time) (int, error) {
	n := 0
	needle := []byte(searchUser)
	for _, ct := range types {
		for from := start.Add(-time.Hour); from.Before(end.Add(time.Hour)); from = from.Add(24 * time.Hour) {
			for _, r := range emu.Records(searchTenant, ct, from, from.Add(24*time.Hour)) {
				if !bytes.Contains(bytes.ToLower(r.Raw), needle) {
					continue
				}
				var rec struct{ UserId, UserKey, CreationTime string }
				if err := json.Unmarshal(r.Raw, &rec); err != nil {
					return 0, err
				}
				if !strings.EqualFold(rec.UserId, searchUser) && !strings.EqualFold(rec.UserKey, searchUser) {
					continue
				}
				at, err := time.Parse("2006-01-02T15:04:05.999999999", rec.CreationTime)
				if err != nil {
					return 0, fmt.Errorf("record %s: CreationTime %q", r.ID, rec.CreationTime)
				}
				if !at.Before(start) && !at.After(end) {
					n++
				}
			}
		}
	}
	return n, nil
}

// selfCPU is the bench process's CPU time so far: the emulator's work.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// humanReadable is the child's first note's markdown.
func (c *child) humanReadable() (string, error) {
	var o struct {
		Results []struct {
			Type          int    `json:"Type"`
			HumanReadable string `json:"HumanReadable"`
		} `json:"results"`
	}
	if err := json.Unmarshal(c.out, &o); err != nil {
		return "", err
	}
	for _, e := range o.Results {
		if e.Type == 1 {
			return e.HumanReadable, nil
		}
	}
	return "", fmt.Errorf("no note entry in the child's output")
}
