package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// seedFeed fills the emulator with the timed feed: cfg.blobs × cfg.perBlob
// records of one content type over 20 hours, ending half an hour ago.
func (b *bencher) seedFeed() error {
	f := b.f
	logf("generating %d blobs × %d records", b.cfg.blobs, b.cfg.perBlob)
	now := f.emu.Now()
	f.emu.AddTenant(tenant)
	f.emu.Subscribe(tenant, ct)
	gen := f.emu.Generate(tenant, emulator.Generation{
		Seed: 1, ContentTypes: []string{ct}, Blobs: b.cfg.blobs, RecordsPerBlob: b.cfg.perBlob,
		Start: now.Add(-26 * time.Hour), Span: 20 * time.Hour, Delay: 30 * time.Minute,
	})
	b.params = f.params(tenant)
	b.start, b.end = gen.FirstCreated.Add(-time.Second), gen.LastCreated.Add(time.Second)
	if b.end.Sub(b.start) > 24*time.Hour {
		return fmt.Errorf("generated window longer than 24 h")
	}
	return nil
}

// row is one timed configuration.
type row struct {
	command     string
	latency     time.Duration
	par         int
	runs        int // child processes per repetition
	wall        time.Duration
	wallMedian  time.Duration
	cpu         time.Duration
	maxRSS      int64
	records     int
	bytes       int64
	pages, blob int           // requests per repetition
	needBlobs   []int         // blobs needed, per child run
	needPages   []int         // listing pages, per child run
	limitNet    time.Duration // latency part of the limit
}

func (b *bencher) timed(command string, lat time.Duration, par int) (row, error) {
	r := row{command: command, latency: lat, par: par}
	var walls []time.Duration
	for i := 0; i < b.cfg.reps; i++ {
		logf("%s latency %v parallelism %d (rep %d/%d)", command, lat, par, i+1, b.cfg.reps)
		var one row
		var err error
		if command == "list-content" {
			one, err = b.listContent(par, i == 0)
		} else {
			one, err = b.fetchDrain(par)
		}
		if err != nil {
			return r, err
		}
		walls = append(walls, one.wall)
		if i == 0 || one.wall < r.wall {
			cpu := one.cpu
			r.wall, r.cpu, r.records, r.bytes, r.pages, r.blob, r.runs = one.wall, cpu, one.records, one.bytes, one.pages, one.blob, one.runs
			r.needBlobs, r.needPages = one.needBlobs, one.needPages
		}
		r.maxRSS = max(r.maxRSS, one.maxRSS)
	}
	slices.Sort(walls)
	r.wallMedian = walls[len(walls)/2]
	for i := range r.needBlobs {
		r.limitNet += time.Duration(ceilDiv(r.needBlobs[i], par)+r.needPages[i]) * lat
	}
	return r, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (b *bencher) counts() (pages, blobs int) {
	return b.f.emu.Count("subscriptions/content"), b.f.emu.Count("blob")
}

func (b *bencher) listContent(par int, verify bool) (row, error) {
	params := withParams(b.params, map[string]any{"download_concurrency": strconv.Itoa(par)})
	args := map[string]any{"content_type": ct, "limit": "100000",
		"start_time": b.start.UTC().Format("2006-01-02T15:04:05"), "end_time": b.end.UTC().Format("2006-01-02T15:04:05")}
	p0, bl0 := b.counts()
	by0 := b.f.blobBytes.Load()
	c, err := b.exec(b.envelope("ms-management-activity-list-content", params, args, nil))
	if err != nil {
		return row{}, err
	}
	if c.exit != 0 {
		return row{}, fmt.Errorf("list-content exit %d: %s", c.exit, firstN(string(c.out), 600))
	}
	p1, bl1 := b.counts()
	r := row{runs: 1, wall: c.wall, cpu: c.cpu, maxRSS: c.maxRSS, pages: p1 - p0, blob: bl1 - bl0, bytes: b.f.blobBytes.Load() - by0,
		records: b.cfg.blobs * b.cfg.perBlob, needBlobs: []int{b.cfg.blobs}, needPages: []int{p1 - p0}}
	if verify {
		o, err := c.decode()
		if err != nil {
			return r, err
		}
		got := 0
		if len(o.Results) > 0 {
			if l, ok := o.Results[0].Contents.([]any); ok {
				got = len(l)
			}
		}
		if got != r.records {
			return r, fmt.Errorf("list-content returned %d records, want %d", got, r.records)
		}
	}
	return r, nil
}

// fetchDrain runs fetch-incidents (max_fetch 10000, the most the param
// allows) from a first run until a run returns nothing, carrying lastRun as
// the engine does, and checks every record became one incident.
func (b *bencher) fetchDrain(par int) (row, error) {
	params := withParams(b.params, map[string]any{
		"download_concurrency": strconv.Itoa(par), "max_fetch": "10000",
		"content_types_to_fetch": ct, "first_fetch_delta": "27 hours", "isFetch": true,
	})
	r := row{}
	var lastRun json.RawMessage
	seen := 0
	for run := 0; run < 50; run++ {
		p0, bl0 := b.counts()
		by0 := b.f.blobBytes.Load()
		c, err := b.exec(b.envelope("fetch-incidents", params, nil, lastRun))
		if err != nil {
			return r, err
		}
		o, err := c.decode()
		if err != nil {
			return r, err
		}
		p1, bl1 := b.counts()
		r.runs++
		r.wall += c.wall
		r.cpu += c.cpu
		r.maxRSS = max(r.maxRSS, c.maxRSS)
		r.pages += p1 - p0
		r.blob += bl1 - bl0
		r.bytes += b.f.blobBytes.Load() - by0
		r.needBlobs = append(r.needBlobs, ceilDiv(len(o.Incidents), b.cfg.perBlob))
		r.needPages = append(r.needPages, p1-p0)
		seen += len(o.Incidents)
		lastRun = o.LastRun
		if len(o.Incidents) == 0 {
			break
		}
	}
	r.records = seen
	if seen != b.cfg.blobs*b.cfg.perBlob {
		return r, fmt.Errorf("fetch-incidents delivered %d incidents over %d runs, want %d", seen, r.runs, b.cfg.blobs*b.cfg.perBlob)
	}
	return r, nil
}

type tmResult struct {
	cold, warmMedian, warmMin, warmCPU time.Duration
	maxRSS                             int64
	n                                  int
}

// testModule times test-module: cold (no cached token: one token request
// more) and warm (the engine's integrationContext holds the token).
func (b *bencher) testModule() (tmResult, error) {
	var r tmResult
	saved := b.ictx
	b.ictx = nil
	c, err := b.exec(b.envelope("test-module", b.params, nil, nil))
	b.ictx = saved
	if err != nil {
		return r, err
	}
	if _, err := c.decode(); err != nil {
		return r, err
	}
	r.cold = c.wall
	r.n = 30
	if b.cfg.quick {
		r.n = 10
	}
	var walls, cpus []time.Duration
	for i := 0; i < r.n; i++ {
		c, err := b.exec(b.envelope("test-module", b.params, nil, nil))
		if err != nil {
			return r, err
		}
		if _, err := c.decode(); err != nil {
			return r, err
		}
		walls = append(walls, c.wall)
		cpus = append(cpus, c.cpu)
		r.maxRSS = max(r.maxRSS, c.maxRSS)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	r.warmMedian, r.warmMin, r.warmCPU = walls[len(walls)/2], walls[0], cpus[len(cpus)/2]
	return r, nil
}

type hugeResult struct {
	records, blobs, incidents int
	wall, cpu                 time.Duration
	maxRSS                    int64
	lastRunBytes              int
	drainRuns                 int
	drainRSS                  int64
}

// hugeFetch is a first fetch-incidents run (default max_fetch) over a window
// of b.cfg.hugeN records, lazily rendered by the emulator, and then ten more runs
// continuing from its lastRun.
func (b *bencher) hugeFetch() (hugeResult, error) {
	var r hugeResult
	per := 500
	blobs := b.cfg.hugeN / per
	now := b.f.emu.Now()
	logf("huge window: %d blobs × %d records (lazy)", blobs, per)
	b.f.emu.AddTenant(hugeTenant)
	b.f.emu.Subscribe(hugeTenant, ct)
	b.f.emu.Generate(hugeTenant, emulator.Generation{
		Seed: 2, ContentTypes: []string{ct}, Blobs: blobs, RecordsPerBlob: per,
		Start: now.Add(-26 * time.Hour), Span: 20 * time.Hour, Delay: 30 * time.Minute, Lazy: true,
	})
	r.records, r.blobs = blobs*per, blobs
	params := withParams(b.f.params(hugeTenant), map[string]any{"content_types_to_fetch": ct, "first_fetch_delta": "27 hours", "isFetch": true})
	saved := b.ictx
	b.ictx = nil
	defer func() { b.ictx = saved }()
	c, err := b.exec(b.envelope("fetch-incidents", params, nil, nil))
	if err != nil {
		return r, err
	}
	o, err := c.decode()
	if err != nil {
		return r, err
	}
	r.incidents, r.wall, r.cpu, r.maxRSS, r.lastRunBytes = len(o.Incidents), c.wall, c.cpu, c.maxRSS, len(o.LastRun)
	b.ictx = o.IntegrationContext
	lastRun := o.LastRun
	for i := 0; i < 10; i++ {
		c, err := b.exec(b.envelope("fetch-incidents", params, nil, lastRun))
		if err != nil {
			return r, err
		}
		o, err := c.decode()
		if err != nil {
			return r, err
		}
		lastRun = o.LastRun
		r.drainRuns++
		r.drainRSS = max(r.drainRSS, c.maxRSS)
	}
	return r, nil
}

type quotaResult struct {
	name                    string
	quota                   int
	wall                    time.Duration
	requests, throttled     int64
	ok                      bool
	achievedPerMin          float64
	idealWall               time.Duration
	throttledPct, utilising float64
}

// quotaRuns runs list-content at 50 ms latency against a tenant quota of
// 1,200 requests a minute, answered the two ways the service answers it.
func (b *bencher) quotaRuns() ([]quotaResult, error) {
	b.f.emu.SetLatency(50 * time.Millisecond)
	defer b.f.emu.SetLatency(0)
	var out []quotaResult
	for _, q := range []struct {
		name   string
		status int
	}{
		{"quota 1200/min, AF429 as 403, client at the default 2000/min", http.StatusForbidden},
		{"quota 1200/min, 429 + Retry-After: 1, client at the default 2000/min", http.StatusTooManyRequests},
	} {
		r, err := b.quotaRun(q.name, 1200, q.status)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// quotaRun is one list-content run with the front enforcing perMinute,
// throttled requests answered with status.
func (b *bencher) quotaRun(name string, perMinute, status int) (quotaResult, error) {
	logf("%s", name)
	r := quotaResult{name: name, quota: perMinute}
	b.f.setQuota(perMinute, status)
	defer b.f.setQuota(0, 0)
	params := withParams(b.params, map[string]any{"download_concurrency": "8"})
	args := map[string]any{"content_type": ct, "limit": "100000",
		"start_time": b.start.UTC().Format("2006-01-02T15:04:05"), "end_time": b.end.UTC().Format("2006-01-02T15:04:05")}
	s0 := b.f.served.Load()
	c, err := b.exec(b.envelope("ms-management-activity-list-content", params, args, nil))
	if err != nil {
		return r, err
	}
	r.wall = c.wall
	r.requests = b.f.served.Load() - s0
	r.throttled = b.f.throttled.Load()
	r.ok = c.exit == 0
	if !r.ok {
		logf("quota run failed: %s", firstN(string(c.out), 600))
	}
	ok := r.requests - r.throttled
	r.achievedPerMin = float64(ok) / r.wall.Seconds() * 60
	r.idealWall = time.Duration(float64(ok) / (float64(perMinute) / 60) * float64(time.Second))
	r.throttledPct = 100 * float64(r.throttled) / float64(max(1, r.requests))
	r.utilising = 100 * r.achievedPerMin / float64(perMinute)
	return r, nil
}
