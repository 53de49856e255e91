package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/testutil"
)

func TestBarReportsPagesBlobsRecordsThroughput(t *testing.T) {
	var out testutil.SyncBuffer
	b := NewBar(&out, "list-content")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	b.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(100 * time.Millisecond)
		return now
	}
	for page := 0; page < 3; page++ {
		b.PageListed()
		b.BlobsQueued(10)
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); b.BlobDone(100) }()
		}
		wg.Wait()
	}
	if _, err := b.Write([]byte("a message\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.BlobDone(5) // after Close: ignored
	s := out.String()
	for _, want := range []string{"list-content: pages", "blobs", "records", "rec/s", "a message\n",
		"3 pages listed · 30/30 blobs · 3,000 records in "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%q", want, s)
		}
	}
	if !strings.HasSuffix(s, "records/s)\n") {
		t.Errorf("output does not end with the summary line: %q", s)
	}
}

func TestBarSilentWithoutEvents(t *testing.T) {
	var out bytes.Buffer
	b := NewBar(&out, "x")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("a bar with no events wrote %q", out.String())
	}
}

func TestBarBlobsWithoutQueue(t *testing.T) {
	var out bytes.Buffer
	b := NewBar(&out, "")
	b.BlobDone(3)
	b.BlobDone(4)
	_ = b.Close()
	if !strings.Contains(out.String(), "0 pages listed · 2/2 blobs · 7 records") {
		t.Errorf("got %q", out.String())
	}
}

func TestFromAndNop(t *testing.T) {
	if From(nil) != Nop {
		t.Error("From(nil) is not Nop")
	}
	if From(&bytes.Buffer{}) != Nop {
		t.Error("From(a plain writer) is not Nop")
	}
	var nilBar *Bar
	_ = nilBar
	b := NewBar(&bytes.Buffer{}, "")
	if From(b) != Reporter(b) {
		t.Error("From(*Bar) did not return the bar")
	}
	Nop.PageListed()
	Nop.BlobsQueued(3)
	Nop.BlobDone(3)
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBarShowsMatchesOnlyForSearches(t *testing.T) {
	var out testutil.SyncBuffer
	b := NewBar(&out, "search-records")
	b.PageListed()
	b.BlobsQueued(2)
	b.BlobDone(10)
	b.Matches(3)
	b.BlobDone(10)
	b.Matches(1234)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "· 1,234 matches\n") {
		t.Errorf("search progress lacks the match counts:\n%q", s)
	}

	var plain testutil.SyncBuffer
	p := NewBar(&plain, "list-content")
	p.BlobsQueued(1)
	p.BlobDone(1)
	_ = p.Close()
	if strings.Contains(plain.String(), "match") {
		t.Errorf("list-content progress shows matches:\n%q", plain.String())
	}
}

// TestBarStaysFullAfterTheLastBlob: search-records reports Matches after
// the last blob; the bar had filled up and cleared itself, so that event
// started a new, empty bar and the last frame read "0% (0/64 blobs)".
func TestBarStaysFullAfterTheLastBlob(t *testing.T) {
	var out testutil.SyncBuffer
	b := NewBar(&out, "search-records")
	b.PageListed()
	b.BlobsQueued(64)
	for i := 0; i < 64; i++ {
		b.BlobDone(40)
		b.Matches(i)
	}
	full := len(out.String())
	b.Matches(2560)
	b.PageListed()
	after := out.String()[full:]
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(after, "0/64") || strings.Contains(after, " 0%") {
		t.Errorf("events after the last blob drew an empty bar:\n%q", after)
	}
	if s := out.String(); !strings.Contains(s, "64/64 blobs") || !strings.Contains(s, "2,560 matches") {
		t.Errorf("summary:\n%q", s)
	}

	// More blobs queued after the bar filled still get a bar.
	var more testutil.SyncBuffer
	m := NewBar(&more, "list-content")
	m.BlobsQueued(1)
	m.BlobDone(1)
	n := len(more.String())
	m.BlobsQueued(2)
	if !strings.Contains(more.String()[n:], "1/3") {
		t.Errorf("blobs queued after the bar filled got no bar:\n%q", more.String()[n:])
	}
	_ = m.Close()
}

// TestBarSummaryCounts: the summary said "1 pages listed" and wrote counts
// without separators beside "2,560 records".
func TestBarSummaryCounts(t *testing.T) {
	var one bytes.Buffer
	b := NewBar(&one, "")
	b.PageListed()
	b.BlobDone(1)
	b.Matches(1)
	_ = b.Close()
	if !strings.Contains(one.String(), "1 page listed · 1/1 blob · 1 record in ") || !strings.HasSuffix(one.String(), " · 1 match\n") {
		t.Errorf("singulars: %q", one.String())
	}
	var many bytes.Buffer
	m := NewBar(&many, "")
	for i := 0; i < 1200; i++ {
		m.PageListed()
	}
	m.BlobsQueued(1500)
	for i := 0; i < 1500; i++ {
		m.BlobDone(2)
	}
	_ = m.Close()
	if !strings.Contains(many.String(), "1,200 pages listed · 1,500/1,500 blobs · 3,000 records in ") {
		t.Errorf("separators: %q", many.String()[strings.LastIndex(many.String(), "\r"):])
	}
}
