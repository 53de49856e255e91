// Package progress reports the progress of long work (listing content pages,
// downloading content blobs) to a person watching a terminal.
//
// The API client calls a Reporter; the command line passes a Bar when
// standard error is a terminal and Nop otherwise, so an engine (stderr not a
// TTY) never sees progress, and progress never reaches standard output.
package progress

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Reporter receives progress events. Implementations are safe for concurrent
// use: blobs are downloaded in parallel.
type Reporter interface {
	// PageListed is called once per page of a content listing received
	// (GET subscriptions/content, including each NextPageUri page).
	PageListed()
	// BlobsQueued is called when n more content blobs are handed to the
	// downloader; a negative n withdraws blobs that will not be downloaded
	// after all (a run that stopped early, e.g. at max_fetch).
	BlobsQueued(n int)
	// BlobDone is called when one content blob was downloaded (or skipped),
	// with the number of records it held.
	BlobDone(records int)
}

// MatchCounter is implemented by reporters that also show how many records
// a search matched so far (Bar does); callers check for it.
type MatchCounter interface {
	Matches(n int)
}

// Nop is the Reporter that reports nothing.
var Nop Reporter = nop{}

type nop struct{}

func (nop) PageListed()     {}
func (nop) BlobsQueued(int) {}
func (nop) BlobDone(int)    {}

// From returns v as a Reporter when it is one, else Nop. Handlers call it on
// what the dispatcher hands them (commands.Env.Progress), whatever the static
// type of that field, so a nil or plain value means "no progress".
func From(v any) Reporter {
	if r, ok := v.(Reporter); ok && r != nil {
		return r
	}
	return Nop
}

// Bar is a Reporter that draws a progress bar with
// github.com/schollz/progressbar/v3: pages listed, blobs done/total, records
// and records per second. It also implements io.Writer: a line written to it
// is printed on its own, above the bar.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	desc    string
	bar     *progressbar.ProgressBar // nil until the next event after it filled up
	now     func() time.Time
	start   time.Time
	pages   int
	queued  int
	done    int
	records int
	matches int  // last Matches value
	search  bool // Matches was called: show them
	active  bool
	closed  bool
}

// NewBar returns a Bar drawing on w, which should be a terminal.
func NewBar(w io.Writer, description string) *Bar {
	return &Bar{w: w, desc: description, now: time.Now}
}

// draw returns the progressbar, creating it when needed (a bar that filled
// up is finished for good in progressbar/v3; more blobs get a new one);
// b.mu is held.
func (b *Bar) draw() *progressbar.ProgressBar {
	if b.bar != nil {
		return b.bar
	}
	max := int64(-1)
	if b.queued > 0 {
		max = int64(b.queued)
	}
	b.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(b.describe()),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("blobs"),
		progressbar.OptionThrottle(80*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		// No spinner goroutine: the bar redraws on events only.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	)
	if b.done > 0 && b.done < b.queued {
		_ = b.bar.Set(b.done)
	}
	return b.bar
}

// update redraws after an event; b.mu is held.
func (b *Bar) update() {
	if b.bar == nil && b.queued > 0 && b.done >= b.queued {
		// Every queued blob is done: the bar filled up and cleared itself.
		// An event now (search-records' last Matches, a page without new
		// blobs) would start a new bar at 0/queued; the next one starts
		// when more blobs are queued, and Close prints the summary.
		return
	}
	bar := b.draw()
	bar.Describe(b.describe())
	if b.queued == 0 {
		return
	}
	if int64(b.queued) != bar.GetMax64() {
		bar.ChangeMax(b.queued)
	}
	_ = bar.Set(b.done)
	if b.done >= b.queued {
		b.bar = nil // filled up and cleared itself
	}
}

func (b *Bar) touch() {
	if !b.active {
		b.active = true
		b.start = b.now()
	}
}

// PageListed implements Reporter.
func (b *Bar) PageListed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.touch()
	b.pages++
	b.update()
}

// BlobsQueued implements Reporter.
func (b *Bar) BlobsQueued(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.touch()
	b.queued = max(b.queued+n, b.done)
	b.update()
}

// BlobDone implements Reporter.
func (b *Bar) BlobDone(records int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.touch()
	b.done++
	if records > 0 {
		b.records += records
	}
	if b.done > b.queued {
		// A client that reports blobs without queuing them first.
		b.queued = b.done
	}
	b.update()
}

// Matches implements MatchCounter: n records matched so far.
func (b *Bar) Matches(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || (b.search && n == b.matches) {
		return
	}
	b.touch()
	b.search, b.matches = true, n
	b.update()
}

// describe is the text before the bar; b.mu is held.
func (b *Bar) describe() string {
	d := fmt.Sprintf("pages %d · records %s · %s rec/s", b.pages, Thousands(b.records), Thousands(b.rate()))
	if b.search {
		d += " · matches " + Thousands(b.matches)
	}
	if b.desc != "" {
		d = b.desc + ": " + d
	}
	return d
}

func (b *Bar) rate() int {
	el := b.now().Sub(b.start).Seconds()
	if el <= 0 {
		return 0
	}
	return int(float64(b.records) / el)
}

// Write prints p above the bar (the bar is redrawn on the next event).
func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil && !b.closed {
		_ = b.bar.Clear()
	}
	return b.w.Write(p)
}

// Close removes the bar and, when anything was reported, prints a one-line
// summary. It is safe to call more than once.
func (b *Bar) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if !b.active {
		return nil
	}
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
	el := b.now().Sub(b.start)
	matched := ""
	if b.search {
		matched = " · " + count(b.matches, "match", "matches")
	}
	_, err := fmt.Fprintf(b.w, "\r%s listed · %s/%s · %s in %s (%s records/s)%s\n",
		count(b.pages, "page", "pages"), Thousands(b.done), count(b.queued, "blob", "blobs"), count(b.records, "record", "records"),
		el.Round(time.Millisecond), Thousands(b.rate()), matched)
	return err
}

// count is n with separators and the noun it counts: "1 page", "2,560 pages".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(n) + " " + many
}

// Thousands formats n with comma separators: 1234567 → "1,234,567".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
