package activity

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// hostile is an API server whose every answer a test writes by hand.
type hostile struct {
	*httptest.Server
	requests atomic.Int64
}

func newHostile(t testing.TB, h http.HandlerFunc) *hostile {
	t.Helper()
	hs := &hostile{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.requests.Add(1)
		h(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func hostileClient(t testing.TB, baseURL string, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL: baseURL + "/api/v1.0/", Tenant: "contoso", HTTP: &http.Client{},
		Tokens: StaticToken("secret-bearer-token"), Clock: clock.NewFake(testNow),
		Jitter: func(time.Duration) time.Duration { return 0 }, MaxAttempts: 2,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gzipBomb returns a gzip body of about decoded/1000 bytes that inflates to
// prefix followed by decoded bytes of 'a' (the deflate block of 4 MiB of
// 'a' repeated: each one refers back only to 'a's). Its trailer's CRC is
// wrong: a reader that gets that far has already failed the test.
func gzipBomb(t testing.TB, prefix string, decoded int64) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, flate.BestCompression)
	zw.Write([]byte(prefix))
	a := bytes.Repeat([]byte("a"), 4<<20)
	zw.Write(a)
	zw.Flush()
	mark := out.Len()
	zw.Write(a)
	zw.Flush()
	block := append([]byte(nil), out.Bytes()[mark:]...)
	for n := int64(8 << 20); n < decoded; n += 4 << 20 {
		out.Write(block)
	}
	zw.Close() // a final empty block and the trailer
	return out.Bytes()
}

// TestGzipBombBlobRefused: a blob of 1 MiB that inflates to 1 GiB is refused
// at the per-blob cap counted in decoded bytes, once (not retried), with an
// error that names the cap and the parameter that raises it.
func TestGzipBombBlobRefused(t *testing.T) {
	bomb := gzipBomb(t, `[{"Id":"x","Data":"`, 1<<30)
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	var sent atomic.Int64
	srv := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		n, _ := w.Write(bomb)
		sent.Add(int64(n))
	})
	c := hostileClient(t, srv.URL, func(cfg *Config) { cfg.MaxBlobBytes = 8 << 20 })
	_, err := c.FetchContent(context.Background(), srv.URL+"/api/v1.0/contoso/activity/feed/audit/blob1")
	var ce *ContentError
	if !errors.As(err, &ce) || !ce.TooLarge {
		t.Fatalf("err = %v, want a too-large *ContentError", err)
	}
	for _, want := range []string{"8 MiB", "max_blob_mb", "decoded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests: a too-large blob must not be downloaded again", n)
	}
}

// BenchmarkGzipBombBlob reports the CPU seconds (user+system, the whole
// process: server and client) of refusing a 1 MiB gzip blob that inflates
// to 1 GiB at the default per-blob cap; the bar is 1 CPU-second.
func BenchmarkGzipBombBlob(b *testing.B) {
	bomb := gzipBomb(b, `[{"Id":"x","Data":"`, 1<<30)
	srv := newHostile(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	})
	c := hostileClient(b, srv.URL, nil)
	u := srv.URL + "/api/v1.0/contoso/activity/feed/audit/blob1"
	b.SetBytes(int64(len(bomb)))
	cpu0 := testutil.ProcessCPU()
	for b.Loop() {
		if _, err := c.FetchContent(context.Background(), u); !IsSkippable(err) {
			b.Fatalf("err = %v", err)
		}
	}
	b.ReportMetric((testutil.ProcessCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// listingPage writes a JSON listing page of n blobs with URIs on base.
func listingPage(w io.Writer, base string, n int) {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, `{"contentType":"Audit.General","contentId":"20261128100000.%08d$20261128100000.%08d$audit_general$Audit_General$na0034","contentUri":"%s/api/v1.0/contoso/activity/feed/audit/%08d","contentCreated":"2026-11-28T10:00:00.000Z","contentExpiration":"2026-12-05T10:00:00.000Z"}`, i, i, base, i)
	}
	bw.WriteString("]")
	bw.Flush()
}

// TestListingPageStreamed: one page of 100,000 blobs (29 MiB of JSON) is
// decoded as a stream of descriptors, not refused by a cap on the page's
// size ("unexpected end of JSON input" before).
func TestListingPageStreamed(t *testing.T) {
	var srv *hostile
	srv = newHostile(t, func(w http.ResponseWriter, r *http.Request) { listingPage(w, srv.URL, 100_000) })
	c := hostileClient(t, srv.URL, nil)
	blobs, err := c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 100_000 || blobs[99_999].ContentURI != srv.URL+"/api/v1.0/contoso/activity/feed/audit/00099999" {
		t.Fatalf("%d blobs, last %+v", len(blobs), blobs[len(blobs)-1])
	}
}

// endless is a listing page that never ends.
type endless struct{ off int }

func (e *endless) Read(p []byte) (int, error) {
	const item = `{"contentType":"Audit.General","contentId":"x","contentUri":"https://x/y","contentCreated":"2026-11-28T10:00:00Z"},`
	n := 0
	if e.off == 0 {
		p[0] = '['
		n, e.off = 1, 1
	}
	for n < len(p) {
		k := copy(p[n:], item[(e.off-1)%len(item):])
		n += k
		e.off += k
	}
	return n, nil
}

// TestListingPageThatNeverEnds: the page cap stops a page without an end
// with an error saying so; a page cut short is a truncated page.
func TestListingPageThatNeverEnds(t *testing.T) {
	srv := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, &endless{})
	})
	c := hostileClient(t, srv.URL, nil)
	c.maxPageBytes = 4 << 20
	_, err := c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
	if err == nil || !strings.Contains(err.Error(), "4 MiB") || !strings.Contains(err.Error(), "never ends") {
		t.Fatalf("err = %v", err)
	}

	cut := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"contentType":"Audit.General","contentId":"a","contentUri":"https://x/a"},{"contentType":"Au`))
	})
	c = hostileClient(t, cut.URL, nil)
	_, err = c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
	if err == nil || !strings.Contains(err.Error(), "ended in the middle") || strings.Contains(err.Error(), "unexpected end of JSON input") {
		t.Fatalf("err = %v", err)
	}
	if n := cut.requests.Load(); n != 2 {
		t.Errorf("%d requests: a truncated page is retried like a cut connection", n)
	}
}

// gzipPage returns a gzip body that inflates to prefix, then item repeated
// until the body holds about decoded bytes, then suffix. Like gzipBomb, it
// repeats one deflate block (of 1 MiB of items, which refers back only to
// items), so building it costs little; the trailer's CRC is wrong, and the
// suffix is there only for a reader that gets that far.
func gzipPage(t testing.TB, prefix, item, suffix string, decoded int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, flate.BestCompression)
	zw.Write([]byte(prefix))
	chunk := []byte(strings.Repeat(item, max(1, (1<<20)/len(item))))
	zw.Write(chunk)
	zw.Flush()
	mark := out.Len()
	zw.Write(chunk)
	zw.Flush()
	block := append([]byte(nil), out.Bytes()[mark:]...)
	for n := len(prefix) + 2*len(chunk); n < decoded; n += len(chunk) {
		out.Write(block)
	}
	zw.Write([]byte(suffix))
	zw.Close()
	return out.Bytes()
}

// allocatedBy returns the bytes the heap allocated while fn ran
// (runtime.MemStats.TotalAlloc): an upper bound of what fn held at its
// peak, garbage included, whatever the garbage collector did meanwhile.
func allocatedBy(fn func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestHostileListingPageBoundedMemory: a listing page costs bounded
// memory whatever it holds (issue 14's bar: 2 × max_blob_mb + 64 MiB). One
// page of 64 MiB of "{}," (64 KiB of gzip on the wire) decoded into
// 22,369,622 empty descriptors, 3,766 MiB of heap and 42 s; a page of
// descriptors that look valid was held whole too, up to the 1 GiB page
// cap. A descriptor without contentId or contentUri is an error naming
// the page; the descriptors a listing holds are charged to the run's
// in-flight budget (max_blob_mb), and a listing they do not fit in fails
// with an error naming max_blob_mb; one descriptor, or the blank space
// between two, may take at most MaxDescriptorBytes.
func TestHostileListingPageBoundedMemory(t *testing.T) {
	const maxBlob = 8 << 20
	const bound = 2*maxBlob + 64<<20
	var srvURL string
	valid := func() string {
		return `{"contentType":"Audit.General","contentId":"x","contentUri":"` + srvURL + `/api/v1.0/contoso/activity/feed/audit/x","contentCreated":"2026-11-28T10:00:00.000Z"},`
	}
	for _, tc := range []struct {
		name string
		body func() []byte
		want []string
	}{
		{"empty descriptors", func() []byte { return gzipPage(t, "[", "{},", "{}]", 64<<20) }, []string{"listing page 1", "blob descriptor 1", "contentId"}},
		{"no contentUri", func() []byte { return gzipPage(t, "[", `{"contentId":"x"},`, "{}]", 64<<20) }, []string{"listing page 1", "blob descriptor 1", "contentUri"}},
		{"valid-looking descriptors", func() []byte { return gzipPage(t, "[", valid(), "{}]", 64<<20) }, []string{"max_blob_mb", "8 MiB", "listing page 1"}},
		{"one endless descriptor", func() []byte { return gzipPage(t, `[{"contentId":"x","pad":"`, "a", `"}]`, 64<<20) }, []string{"listing page 1", "blob descriptor 1", "64 KiB"}},
		{"endless blank space", func() []byte { return gzipPage(t, "[", " ", "]", 64<<20) }, []string{"listing page 1", "64 KiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			srv := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(body)
			})
			srvURL = srv.URL
			body = tc.body()
			c := hostileClient(t, srv.URL, func(cfg *Config) { cfg.MaxBlobBytes = maxBlob })
			var blobs []Blob
			var err error
			alloc := allocatedBy(func() {
				blobs, err = c.ListContent(context.Background(), "Audit.General", testNow.Add(-time.Hour), testNow)
			})
			t.Logf("%d bytes on the wire: %d blobs, %.1f MiB allocated, err %v", len(body), len(blobs), float64(alloc)/(1<<20), err)
			if alloc > bound {
				t.Errorf("listing one page allocated %.0f MiB, over the bound of %d MiB (2 × max_blob_mb + 64 MiB)", float64(alloc)/(1<<20), bound>>20)
			}
			if err == nil {
				t.Fatalf("no error; %d blobs", len(blobs))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := srv.requests.Load(); n != 1 {
				t.Errorf("%d requests: a page refused for what it holds is not asked again", n)
			}
			if n := c.budget.inFlight(); n != 0 {
				t.Errorf("%d bytes still charged to the budget after a failed listing", n)
			}
		})
	}
}
