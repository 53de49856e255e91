package commands

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

// In-process benchmarks of whole commands on the CPU side: the emulator's
// handler is called directly by an http.RoundTripper (no sockets, no
// latency), so what is measured is the command's own work — listing, blob
// decoding, filtering, context/markdown rendering and the final JSON
// encoding of the output by WriteOutput, as main.writeOutput does it. Run them on one core
// (bench/main.go does):
//
//	go test ./commands -run '^$' -bench 'Command$' -cpu 1 -benchmem
//
// and profile with -cpuprofile/-memprofile. They report records/s,
// allocs/record and MB/s (blob bytes decoded).

const benchTenant = "contoso"

// handlerTransport serves requests with an http.Handler in the calling
// goroutine.
type handlerTransport struct{ h http.Handler }

type bufferedResponse struct {
	header http.Header
	status int
	body   []byte
}

func (w *bufferedResponse) Header() http.Header { return w.header }
func (w *bufferedResponse) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

// Write keeps the handler's first buffer instead of copying it: the
// emulator writes each body in one call from a buffer it never changes
// again, and copying 9 MB per operation would be the benchmark's cost, not
// the command's.
func (w *bufferedResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body == nil {
		w.body = p[:len(p):len(p)]
		return len(p), nil
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := &bufferedResponse{header: http.Header{}}
	t.h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		StatusCode: w.status, Status: http.StatusText(w.status), Header: w.header,
		Body: io.NopCloser(bytes.NewReader(w.body)), ContentLength: int64(len(w.body)),
		Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

type benchFeed struct {
	srv        *emulator.Server
	deps       *Deps
	gen        emulator.Generated
	blobBytes  int64
	records    int
	start, end time.Time
}

// newBenchFeed seeds blobs × perBlob Audit.General records and returns the
// dependencies that route the commands to the emulator in-process.
func newBenchFeed(b *testing.B, blobs, perBlob int) *benchFeed {
	b.Helper()
	srv := emulator.NewServer()
	b.Cleanup(srv.Close)
	srv.AddTenant(benchTenant)
	srv.Subscribe(benchTenant, "Audit.General")
	now := srv.Now()
	gen := srv.Generate(benchTenant, emulator.Generation{
		Seed: 7, ContentTypes: []string{"Audit.General"}, Blobs: blobs, RecordsPerBlob: perBlob,
		Start: now.Add(-26 * time.Hour), Span: 20 * time.Hour, Delay: 30 * time.Minute,
	})
	tok, _ := srv.IssueToken(benchTenant, 24*time.Hour)
	hc := &http.Client{Transport: handlerTransport{srv.TLSServer().Config.Handler}}
	f := &benchFeed{
		srv: srv, gen: gen, records: gen.Records,
		start: gen.FirstCreated.Add(-time.Second), end: gen.LastCreated.Add(time.Second),
		deps: &Deps{
			HTTPClient:  func(*params.Params) *http.Client { return hc },
			TokenSource: func(context.Context, *Env) (activity.TokenSource, error) { return activity.StaticToken(tok), nil },
		},
	}
	// Blob bytes, for MB/s: every record's raw JSON plus the array's commas.
	c, err := activity.New(activity.Config{BaseURL: srv.BaseURL(), HTTP: hc, Tokens: activity.StaticToken(tok), Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	list, err := c.ListContent(context.Background(), "Audit.General", f.start, f.end)
	if err != nil {
		b.Fatal(err)
	}
	err = c.Download(context.Background(), list, func(_ activity.Blob, recs []activity.Record, err error) error {
		f.blobBytes += 2
		for _, r := range recs {
			f.blobBytes += int64(len(r.Raw)) + 1
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *benchFeed) params(extra map[string]any) map[string]any {
	p := map[string]any{"base_url": f.srv.BaseURL(), "download_concurrency": "1"}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// runEncoded runs one envelope and encodes the output as main does.
func runEncoded(b *testing.B, env *Envelope, deps *Deps) *Output {
	out, code := Run(context.Background(), env, deps)
	if code != ExitOK {
		b.Fatalf("exit %d: %+v", code, out.Results)
	}
	if err := WriteOutput(io.Discard, out); err != nil {
		b.Fatal(err)
	}
	return out
}

// reportPerRecord reports records/s (wall), records per CPU-second of the
// process (robust when other processes load the machine; cpu0 is
// benchCPU() before the timed loop) and MB/s of blob JSON.
func reportPerRecord(b *testing.B, records int, bytes int64, cpu0 time.Duration) {
	cpu := benchCPU() - cpu0
	b.ReportMetric(0, "ns/op") // records/s says it better
	secs := b.Elapsed().Seconds()
	n := float64(b.N)
	b.ReportMetric(float64(records)*n/secs, "records/s")
	if cpu > 0 {
		b.ReportMetric(float64(records)*n/cpu.Seconds(), "cpu-records/s")
	}
	b.ReportMetric(float64(bytes)*n/secs/1e6, "MB/s")
}

// benchCPU is the process's CPU time so far (user + system).
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkListContentCommand is list-content returning every record of 20
// blobs × 500 (limit 100000), output encoded.
func BenchmarkListContentCommand(b *testing.B) {
	f := newBenchFeed(b, 20, 500)
	env := &Envelope{Command: CmdListContent, Params: f.params(nil), Args: map[string]any{
		"content_type": "Audit.General", "limit": "100000",
		"start_time": activity.FormatTime(f.start), "end_time": activity.FormatTime(f.end),
	}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for b.Loop() {
		runEncoded(b, env, f.deps)
	}
	b.StopTimer()
	reportPerRecord(b, f.records, f.blobBytes, cpu0)
	allocsPerRecord(b, f.records, func() { runEncoded(b, env, f.deps) })
}

// BenchmarkListContentFilteredCommand is list-content with a workload filter
// that keeps part of the records: decoding and filtering dominate.
func BenchmarkListContentFilteredCommand(b *testing.B) {
	f := newBenchFeed(b, 20, 500)
	env := &Envelope{Command: CmdListContent, Params: f.params(nil), Args: map[string]any{
		"content_type": "Audit.General", "limit": "100000", "workloads_filter": "Exchange",
		"start_time": activity.FormatTime(f.start), "end_time": activity.FormatTime(f.end),
	}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for b.Loop() {
		runEncoded(b, env, f.deps)
	}
	b.StopTimer()
	reportPerRecord(b, f.records, f.blobBytes, cpu0)
	allocsPerRecord(b, f.records, func() { runEncoded(b, env, f.deps) })
}

// BenchmarkFetchIncidentsCommand is a first fetch-incidents run taking
// max_fetch 10000 records out of 20 blobs × 500, output and lastRun
// encoded.
func BenchmarkFetchIncidentsCommand(b *testing.B) {
	f := newBenchFeed(b, 20, 500)
	env := &Envelope{Command: CmdFetchIncidents, Params: f.params(map[string]any{
		"content_types_to_fetch": "Audit.General", "max_fetch": "10000", "first_fetch_delta": "2 days",
	})}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for b.Loop() {
		out := runEncoded(b, env, f.deps)
		if b.N == 1 && len(*out.Incidents) != f.records {
			b.Fatalf("%d incidents, want %d", len(*out.Incidents), f.records)
		}
	}
	b.StopTimer()
	reportPerRecord(b, f.records, f.blobBytes, cpu0)
	allocsPerRecord(b, f.records, func() { runEncoded(b, env, f.deps) })
}

// BenchmarkContentOutput is the rendering alone (Contents, ContentRecord
// context and markdown row per record, then the output's encoding), from
// records already decoded.
func BenchmarkContentOutput(b *testing.B) {
	f := newBenchFeed(b, 4, 500)
	tok, _ := f.srv.IssueToken(benchTenant, time.Hour)
	c, err := activity.New(activity.Config{BaseURL: f.srv.BaseURL(), HTTP: f.deps.HTTPClient(nil), Tokens: activity.StaticToken(tok), Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	list, err := c.ListContent(context.Background(), "Audit.General", f.start, f.end)
	if err != nil {
		b.Fatal(err)
	}
	var recs []activity.Record
	_ = c.Download(context.Background(), list, func(_ activity.Blob, r []activity.Record, err error) error {
		recs = append(recs, r...)
		return err
	})
	render := func() {
		out := newContentOutput("Content for content type Audit.General")
		for i := range recs {
			out.add(&recs[i])
		}
		hr := out.humanReadable()
		o := &Output{Results: []xcontext.Entry{xcontext.Note(out.contents(), hr, map[string]any{xcontext.ContentRecordKey: out.context()})}}
		if err := WriteOutput(io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for b.Loop() {
		render()
	}
	b.StopTimer()
	reportPerRecord(b, len(recs), f.blobBytes, cpu0)
	allocsPerRecord(b, len(recs), render)
}

// allocsPerRecord reports the heap allocations of one more run of fn per
// record (testing.AllocsPerRun, so the figure does not depend on b.N).
func allocsPerRecord(b *testing.B, records int, fn func()) {
	a := testing.AllocsPerRun(1, fn)
	b.ReportMetric(a/float64(records), "allocs/record")
}
