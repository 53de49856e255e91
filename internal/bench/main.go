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
// See bench/README.md for the latest figures.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/secops-go/ms-management-activity/internal/emulator"
)

var (
	quick     = flag.Bool("quick", false, "one repetition, 200k-record huge window, short in-process benchmarks")
	reps      = flag.Int("reps", 3, "repetitions of each timed configuration (the best is reported)")
	nBlobs    = flag.Int("blobs", 200, "blobs in the feed")
	perBlob   = flag.Int("records", 500, "records per blob")
	latencies = flag.String("latency", "0,50ms", "per-request latencies, comma-separated")
	pars      = flag.String("parallelism", "1,8", "download_concurrency values, comma-separated")
	useTLS    = flag.Bool("tls", false, "serve the emulator over TLS (self-signed; the child runs with insecure=true)")
	binFlag   = flag.String("bin", "", "use this binary instead of building one")
	noGoBench = flag.Bool("no-gotest", false, "skip the in-process go test benchmarks (decode rates are then unknown)")
	hugeN     = flag.Int("huge", 1_000_000, "records in the huge fetch window (RSS check)")
	skipQuota = flag.Bool("no-quota", false, "skip the throttling run")
	keep      = flag.Bool("keep", false, "keep the temporary directory (binary, outputs)")
	childLog  = flag.String("child-log", "", "log level of the children (e.g. debug); their logs are printed to stderr")
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
	flag.Parse()
	if *quick {
		*reps = 1
		if *hugeN == 1_000_000 {
			*hugeN = 200_000
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "msma-bench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Println("temporary directory:", tmp)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	bin := *binFlag
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
	if !*noGoBench {
		if inproc, err = runGoBench(root); err != nil {
			return err
		}
	}

	l, err := startLauncher()
	if err != nil {
		return err
	}
	defer l.close()
	f, err := newFront(*useTLS)
	if err != nil {
		return err
	}
	defer f.close()
	b := &bencher{l: l, bin: bin, tmp: tmp, f: f}

	logf("generating %d blobs × %d records", *nBlobs, *perBlob)
	now := f.emu.Now()
	f.emu.AddTenant(tenant)
	f.emu.Subscribe(tenant, ct)
	gen := f.emu.Generate(tenant, emulator.Generation{
		Seed: 1, ContentTypes: []string{ct}, Blobs: *nBlobs, RecordsPerBlob: *perBlob,
		Start: now.Add(-26 * time.Hour), Span: 20 * time.Hour, Delay: 30 * time.Minute,
	})
	b.params = f.params(tenant)
	b.start, b.end = gen.FirstCreated.Add(-time.Second), gen.LastCreated.Add(time.Second)
	if b.end.Sub(b.start) > 24*time.Hour {
		return fmt.Errorf("generated window longer than 24 h")
	}
	// One test-module run fills the token cache (integrationContext), which
	// every later run starts from, as the engine's runs do.
	if err := b.warmUp(); err != nil {
		return err
	}

	var rows []row
	for _, lat := range parseDurations(*latencies) {
		f.emu.SetLatency(lat)
		for _, cmd := range []string{"list-content", "fetch-incidents"} {
			for _, p := range parseInts(*pars) {
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
	if !*skipQuota {
		f.emu.SetLatency(50 * time.Millisecond)
		for _, q := range []struct {
			name   string
			rpm    int
			status int
		}{
			{"quota 1200/min, AF429 as 403, client at the default 2000/min", 0, http.StatusForbidden},
			{"quota 1200/min, 429 + Retry-After: 1, client at the default 2000/min", 0, http.StatusTooManyRequests},
		} {
			r, err := b.quotaRun(q.name, 1200, q.status, q.rpm)
			if err != nil {
				return err
			}
			quota = append(quota, r)
		}
		f.emu.SetLatency(0)
	}

	report(rows, inproc, tm, huge, quota, f, b.floor)
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

func parseDurations(s string) []time.Duration {
	var out []time.Duration
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: bad latency", p)
			os.Exit(2)
		}
		out = append(out, d)
	}
	return out
}

func parseInts(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bench: bad parallelism", p)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

// ---- in-process benchmarks ----

type goBench struct {
	recordsPerSec    float64 // wall, one core
	cpuRecordsPerSec float64 // per CPU second of the process
	mbPerSec         float64
	allocsPerRecord  float64
	bytesPerOp       float64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func runGoBench(root string) (map[string]goBench, error) {
	benchtime := "20x"
	if *quick {
		benchtime = "5x"
	}
	args := []string{"test", "./commands", "-run", "^$", "-bench", "^Benchmark(ListContent|FetchIncidents)Command$|^BenchmarkListContentRender$", "-cpu", "1", "-benchmem", "-benchtime", benchtime, "-count", "1"}
	logf("go %s", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Stderr.Write(out.Bytes())
		return nil, fmt.Errorf("in-process benchmarks: %w", err)
	}
	res := map[string]goBench{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		var g goBench
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "records/s":
				g.recordsPerSec = v
			case "cpu-records/s", "records/cpu-s":
				g.cpuRecordsPerSec = v
			case "MB/s":
				g.mbPerSec = v
			case "allocs/record":
				g.allocsPerRecord = v
			case "B/op":
				g.bytesPerOp = v
			}
		}
		res[m[1]] = g
	}
	return res, nil
}

// ---- the emulator and its front ----

// front serves the emulator's handler on its own loopback listener, so it
// can count blob bytes and, for the quota run, enforce a tenant quota.
type front struct {
	emu       *emulator.Server
	hs        *http.Server
	url       string
	tls       bool
	blobBytes atomic.Int64
	throttled atomic.Int64
	served    atomic.Int64

	mu          sync.Mutex
	quota       *rate.Limiter
	quotaStatus int
}

func newFront(useTLS bool) (*front, error) {
	f := &front{tls: useTLS}
	if useTLS {
		f.emu = emulator.NewTLSServer()
	} else {
		f.emu = emulator.NewServer()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.emu.Close()
		return nil, err
	}
	inner := f.emu.TLSServer().Config.Handler
	f.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/activity/feed/") {
			f.served.Add(1)
			f.mu.Lock()
			q, status := f.quota, f.quotaStatus
			f.mu.Unlock()
			if q != nil && !q.Allow() {
				f.throttled.Add(1)
				if status == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "1")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"code":"AF429","message":"Too many requests. Method=GetBlob, PublisherId=%s"}}`, r.URL.Query().Get("PublisherIdentifier"))
				return
			}
			if strings.Contains(r.URL.Path, "/activity/feed/audit/") {
				cw := &countingWriter{ResponseWriter: w}
				inner.ServeHTTP(cw, r)
				f.blobBytes.Add(cw.n)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	scheme := "http"
	var l net.Listener = ln
	if useTLS {
		scheme = "https"
		l = tls.NewListener(ln, f.emu.TLSServer().TLS.Clone())
	}
	go func() { _ = f.hs.Serve(l) }()
	f.url = scheme + "://" + ln.Addr().String()
	return f, nil
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (f *front) close() {
	_ = f.hs.Close()
	f.emu.Close()
}

func (f *front) setQuota(perMinute, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if perMinute <= 0 {
		f.quota = nil
		return
	}
	perSec := float64(perMinute) / 60
	// A strict server: the per-minute quota is enforced as a token bucket
	// holding one second's worth, so a client must stay near the rate.
	f.quota = rate.NewLimiter(rate.Limit(perSec), max(1, int(perSec)))
	f.quotaStatus = status
	f.throttled.Store(0)
}

// params are the instance params of the oproxy flow against the front.
func (f *front) params(tenantID string) map[string]any {
	p := f.emu.OproxyParams(tenantID)
	p["base_url"] = f.url + "/api/v1.0/"
	if f.tls {
		p["insecure"] = true
	}
	return p
}

// ---- child runs ----

type bencher struct {
	l          *launcher
	floor      int64 // launcher's peak RSS
	bin, tmp   string
	f          *front
	params     map[string]any
	ictx       map[string]any // integrationContext with the cached token
	start, end time.Time
}

type child struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
	exit      int
	out       []byte
	stderr    string
}

func (b *bencher) exec(envelope map[string]any) (*child, error) {
	in, err := json.Marshal(envelope)
	if err != nil {
		return nil, err
	}
	inPath, outPath := filepath.Join(b.tmp, "stdin.json"), filepath.Join(b.tmp, "stdout.json")
	if err := os.WriteFile(inPath, in, 0o600); err != nil {
		return nil, err
	}
	res, err := b.l.run(launchReq{Bin: b.bin, Stdin: inPath, Stdout: outPath,
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "MSMA_LOG_LEVEL=" + cmp.Or(*childLog, "warn")}})
	if err != nil {
		return nil, err
	}
	if *childLog != "" {
		fmt.Fprintf(os.Stderr, "--- %v: wall %v cpu %v\n%s", envelope["command"], time.Duration(res.WallNs), time.Duration(res.CPUNs), res.Stderr)
	}
	b.floor = max(b.floor, res.LauncherRSSKiB<<10)
	c := &child{wall: time.Duration(res.WallNs), cpu: time.Duration(res.CPUNs), maxRSS: res.MaxRSSKiB << 10, exit: res.Exit, stderr: res.Stderr}
	if c.out, err = os.ReadFile(outPath); err != nil {
		return nil, err
	}
	return c, nil
}

// ---- the launcher ----
//
// Peak RSS of a child comes from wait4's rusage (ru_maxrss). On Linux, exec
// folds the high-water mark of the memory the child had before exec into
// it, and os/exec starts children with CLONE_VM: the "memory before exec"
// is the parent's. The bench process holds the emulator's feed (hundreds
// of MiB), so children are started by a small launcher process (this
// program re-executed, started before the feed exists) whose own few MiB
// are the floor of every figure.

type launchReq struct {
	Bin, Stdin, Stdout string
	Env                []string
}

type launchRes struct {
	WallNs, CPUNs, MaxRSSKiB int64
	LauncherRSSKiB           int64 // the launcher's own peak: the floor
	Exit                     int
	Stderr, Err              string
}

type launcher struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
}

const launcherEnv = "MSMA_BENCH_LAUNCHER"

func startLauncher() (*launcher, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), launcherEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &launcher{cmd: cmd, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

func (l *launcher) run(req launchReq) (launchRes, error) {
	var res launchRes
	if err := l.enc.Encode(req); err != nil {
		return res, fmt.Errorf("launcher: %w", err)
	}
	if err := l.dec.Decode(&res); err != nil {
		return res, fmt.Errorf("launcher: %w", err)
	}
	if res.Err != "" {
		return res, fmt.Errorf("launcher: %s", res.Err)
	}
	return res, nil
}

func (l *launcher) close() {
	if c, ok := l.cmd.Stdin.(io.Closer); ok {
		c.Close()
	}
	_ = l.cmd.Wait()
}

// launcherMain serves launch requests on stdin/stdout until stdin closes.
func launcherMain() {
	dec, enc := json.NewDecoder(os.Stdin), json.NewEncoder(os.Stdout)
	for {
		var req launchReq
		if err := dec.Decode(&req); err != nil {
			return
		}
		_ = enc.Encode(launchOne(req))
	}
}

func launchOne(req launchReq) launchRes {
	var res launchRes
	in, err := os.Open(req.Stdin)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer in.Close()
	out, err := os.Create(req.Stdout)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(req.Bin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = in, out, &stderr, req.Env
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return res
	}
	err = cmd.Wait()
	res.WallNs = int64(time.Since(t0))
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		res.Err = err.Error()
		return res
	}
	st := cmd.ProcessState
	res.CPUNs = int64(st.UserTime() + st.SystemTime())
	res.Exit = st.ExitCode()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKiB = ru.Maxrss
	}
	res.Stderr = firstN(stderr.String(), 4000)
	var self syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		res.LauncherRSSKiB = self.Maxrss
	}
	return res
}

func (b *bencher) envelope(command string, params, args map[string]any, lastRun json.RawMessage) map[string]any {
	e := map[string]any{"command": command, "params": params, "integrationContext": b.ictx}
	if args != nil {
		e["args"] = args
	}
	if lastRun != nil {
		e["lastRun"] = lastRun
	}
	return e
}

func withParams(base map[string]any, extra map[string]any) map[string]any {
	p := map[string]any{}
	for k, v := range base {
		p[k] = v
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

type output struct {
	Results []struct {
		Type         int            `json:"Type"`
		Contents     any            `json:"Contents"`
		EntryContext map[string]any `json:"EntryContext"`
	} `json:"results"`
	Incidents          []json.RawMessage `json:"incidents"`
	LastRun            json.RawMessage   `json:"lastRun"`
	IntegrationContext map[string]any    `json:"integrationContext"`
}

func (c *child) decode() (*output, error) {
	var o output
	if err := json.Unmarshal(c.out, &o); err != nil {
		return nil, fmt.Errorf("child output: %w (stderr: %s)", err, c.stderr)
	}
	if c.exit != 0 {
		return &o, fmt.Errorf("child exit %d: %s %s", c.exit, firstN(string(c.out), 400), c.stderr)
	}
	return &o, nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (b *bencher) warmUp() error {
	c, err := b.exec(b.envelope("test-module", b.params, nil, nil))
	if err != nil {
		return err
	}
	o, err := c.decode()
	if err != nil {
		return err
	}
	b.ictx = o.IntegrationContext
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
	for i := 0; i < *reps; i++ {
		logf("%s latency %v parallelism %d (rep %d/%d)", command, lat, par, i+1, *reps)
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
		records: *nBlobs * *perBlob, needBlobs: []int{*nBlobs}, needPages: []int{p1 - p0}}
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
		r.needBlobs = append(r.needBlobs, ceilDiv(len(o.Incidents), *perBlob))
		r.needPages = append(r.needPages, p1-p0)
		seen += len(o.Incidents)
		lastRun = o.LastRun
		if len(o.Incidents) == 0 {
			break
		}
	}
	r.records = seen
	if seen != *nBlobs**perBlob {
		return r, fmt.Errorf("fetch-incidents delivered %d incidents over %d runs, want %d", seen, r.runs, *nBlobs**perBlob)
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
	if *quick {
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
// of *hugeN records, lazily rendered by the emulator, and then ten more runs
// continuing from its lastRun.
func (b *bencher) hugeFetch() (hugeResult, error) {
	var r hugeResult
	per := 500
	blobs := *hugeN / per
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
	achievedPerMin, ideal   float64
	records                 int
	idealWall               time.Duration
	throttledPct, utilising float64
}

func (b *bencher) quotaRun(name string, perMinute, status, rpm int) (quotaResult, error) {
	logf("%s", name)
	r := quotaResult{name: name, quota: perMinute}
	b.f.setQuota(perMinute, status)
	defer b.f.setQuota(0, 0)
	params := withParams(b.params, map[string]any{"download_concurrency": "8"})
	if rpm > 0 {
		params["requests_per_minute"] = strconv.Itoa(rpm)
	}
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

// ---- report ----

func report(rows []row, inproc map[string]goBench, tm tmResult, huge hugeResult, quota []quotaResult, f *front, floor int64) {
	w := os.Stdout
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
		*nBlobs, *perBlob, thousands(*nBlobs**perBlob), scheme, *reps)

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
			fmt.Fprintf(w, "  %-32s %12s %14s %9.1f %14s\n", strings.TrimPrefix(n, "Benchmark"), thousands(int(g.recordsPerSec)), thousands(int(g.cpuRecordsPerSec)), g.mbPerSec, apr)
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
			name, r.latency, r.par, r.runs, secs(r.wall), secs(r.wallMedian), thousands(int(float64(r.records)/r.wall.Seconds())),
			float64(r.bytes)/1e6/r.wall.Seconds(), secs(r.cpu), mib(r.maxRSS), r.pages, r.blob, secs(limit), r.wall.Seconds()/limit.Seconds(), ratio)
	}
	fmt.Fprintf(w, "\nlimit = Σ over runs of (⌈blobs needed ÷ P⌉ + listing pages) × latency + records ÷ (in-process records per CPU-second); process start-up and token reuse are not in it.\n")

	fmt.Fprintf(w, "\n| check | measured | target |\n|---|---|---|\n")
	fmt.Fprintf(w, "| test-module wall, warm token cache (median of %d / best) | %s / %s (CPU %s, RSS %s) | ≤ 20 ms |\n", tm.n, ms(tm.warmMedian), ms(tm.warmMin), ms(tm.warmCPU), mib(tm.maxRSS))
	fmt.Fprintf(w, "| test-module wall, cold (token request) | %s | — |\n", ms(tm.cold))
	fmt.Fprintf(w, "| fetch-incidents peak RSS, first run over a %s-record window (%d blobs), default max_fetch → %d incidents, %s | %s | ≤ 64 MiB |\n",
		thousands(huge.records), huge.blobs, huge.incidents, secs(huge.wall), mib(huge.maxRSS))
	fmt.Fprintf(w, "| fetch-incidents peak RSS, next %d runs from its lastRun (lastRun %s) | %s | ≤ 64 MiB |\n", huge.drainRuns, kib(huge.lastRunBytes), mib(huge.drainRSS))
	var lcRSS int64
	for _, r := range rows {
		if r.command == "list-content" {
			lcRSS = max(lcRSS, r.maxRSS)
		}
	}
	fmt.Fprintf(w, "| (floor of every peak RSS: the launcher's own) | %s | — |\n", mib(floor))
	fmt.Fprintf(w, "| list-content peak RSS returning %s records | %s | ≤ 256 MiB |\n", thousands(*nBlobs**perBlob), mib(lcRSS))
	for _, r := range rows {
		if r.latency == 50*time.Millisecond && r.par != 1 {
			if s, ok := seq[fmt.Sprint(r.command, r.latency)]; ok {
				fmt.Fprintf(w, "| %s at 50 ms: P1 wall ÷ P%d wall | %.2f× | ≥ 6× |\n", r.command, r.par, s.Seconds()/r.wall.Seconds())
			}
		}
	}
	if g, ok := inproc["BenchmarkListContentRender"]; ok {
		fmt.Fprintf(w, "| decode + filter + context rendering, one core (ListContentRender) | %s records/CPU-s (%s records/s wall) | ≥ 300k |\n", thousands(int(g.cpuRecordsPerSec)), thousands(int(g.recordsPerSec)))
	}
	if lc.cpuRecordsPerSec > 0 {
		fmt.Fprintf(w, "| whole list-content command in-process, one core (+ listing, HTTP client, emulator handler, output writing) | %s records/CPU-s (%s records/s wall) | — |\n", thousands(int(lc.cpuRecordsPerSec)), thousands(int(lc.recordsPerSec)))
	}
	if len(quota) > 0 {
		fmt.Fprintf(w, "\nThrottling (list-content, %s records, 50 ms latency, P 8; the front answers AF429 above the quota):\n\n", thousands(*nBlobs**perBlob))
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

func thousands(n int) string {
	s := strconv.Itoa(n)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

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
