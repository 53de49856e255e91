package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
	"unsafe"

	"github.com/secops-go/ms-management-activity/internal/progress"
)

// The API's listing limits.
const (
	// MaxWindow is the longest time window one content listing may cover.
	MaxWindow = 24 * time.Hour
	// Retention is how far back a listing may start: content is kept for
	// 7 days.
	Retention = 7 * 24 * time.Hour
)

// The caps on a listing answer, whatever it holds: with them, listing costs
// bounded memory and time (issue 14: 2 × max_blob_mb + 64 MiB for a run).
// Microsoft's pages are far smaller; nothing in the API bounds them, so the
// caps leave room for an unusual one (a page of 100,000 descriptors, 29
// MiB, TestListingPageStreamed).
const (
	// MaxPageBytes is how much JSON one listing page may hold, decoded:
	// twice the 100,000-descriptor page, a guard against a page that
	// never ends.
	MaxPageBytes = 64 << 20
	// MaxDescriptorBytes is how much JSON one blob descriptor, or the
	// blank space between two, may take (a real one is about 300 bytes):
	// the decoder holds a whole value before decoding it.
	MaxDescriptorBytes = 64 << 10
)

// The descriptors a listing holds are charged to the run's in-flight
// budget (max_blob_mb, see budget) until the caller releases them: a listing
// whose descriptors exceed it fails, naming max_blob_mb. What one costs:
// its Blob twice (the slice that holds it has up to as much spare
// capacity) and its strings.
const blobSize = int64(unsafe.Sizeof(Blob{}))

func descriptorCost(b *Blob) int64 {
	return 2*blobSize + int64(len(b.ContentType)+len(b.ContentID)+len(b.ContentURI)+len(b.ContentCreated)+len(b.ContentExpiration))
}

func listingCost(blobs []Blob) int64 {
	var n int64
	for i := range blobs {
		n += descriptorCost(&blobs[i])
	}
	return n
}

// ReleaseListing gives back to the run's in-flight budget what blobs, as
// returned by ListContent, were charged: call it once the caller no longer
// holds them (after their download). Until then, downloads that are not
// the next to deliver wait while the budget is spent.
func (c *Client) ReleaseListing(blobs []Blob) { c.budget.giveListing(listingCost(blobs)) }

// maxPages guards against a server that pages forever with new URIs.
const maxPages = 10000

// Blob is a content blob descriptor from subscriptions/content.
type Blob struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

// Created parses ContentCreated (RFC 3339, usually with milliseconds and Z).
func (b Blob) Created() (time.Time, error) { return ParseCreationTime(b.ContentCreated) }

// ListContent lists the content blobs of a content type whose contentCreated
// is in [start, end) (UTC), following NextPageUri until the last page. A
// window longer than 24 hours is listed as consecutive windows of at most
// 24 hours. Zero start and end send neither, so the API uses the last 24
// hours. Blobs come in the API's order (window by window, page by page).
//
// A stale-page answer (AF20031) restarts the window's listing once.
//
// Every blob descriptor must have a contentId and a contentUri. The blobs
// returned are charged to the run's in-flight budget until ReleaseListing;
// on an error, nothing is returned and nothing stays charged.
func (c *Client) ListContent(ctx context.Context, contentType string, start, end time.Time) ([]Blob, error) {
	if start.IsZero() != end.IsZero() {
		return nil, fmt.Errorf("list content %s: give both start and end or neither", contentType)
	}
	if !start.IsZero() && !end.After(start) {
		return nil, fmt.Errorf("list content %s: end %s is not after start %s", contentType, FormatTime(end), FormatTime(start))
	}
	windows := [][2]time.Time{{}}
	if !start.IsZero() {
		windows = SplitWindow(start, end)
	}
	var all []Blob
	for _, w := range windows {
		var err error
		if all, err = c.listWindow(ctx, contentType, w[0], w[1], all); err != nil {
			c.ReleaseListing(all)
			return nil, err
		}
	}
	return all, nil
}

// SplitWindow cuts [start, end) into consecutive windows of at most
// MaxWindow, at whole seconds (the API's resolution).
func SplitWindow(start, end time.Time) [][2]time.Time {
	start, end = start.UTC().Truncate(time.Second), end.UTC().Truncate(time.Second)
	var out [][2]time.Time
	for s := start; s.Before(end); s = s.Add(MaxWindow) {
		e := s.Add(MaxWindow)
		if e.After(end) {
			e = end
		}
		out = append(out, [2]time.Time{s, e})
	}
	return out
}

// listWindow lists one window, appending its blobs to into (charged to the
// budget, the caller's to release, error or not).
func (c *Client) listWindow(ctx context.Context, contentType string, start, end time.Time, into []Blob) ([]Blob, error) {
	restarted := false
	for {
		blobs, err := c.listPages(ctx, contentType, start, end, into)
		if err != nil && ErrorCode(err) == CodeStalePage && !restarted {
			restarted = true
			c.cfg.Logger.Info("stale next-page link (AF20031); listing the window again", "contentType", contentType, "start", start, "end", end)
			c.ReleaseListing(blobs[len(into):])
			clear(blobs[len(into):])
			continue
		}
		if err != nil && !start.IsZero() {
			err = fmt.Errorf("%w [window %s – %s]", err, FormatTime(start), FormatTime(end))
		}
		return blobs, err
	}
}

func (c *Client) listPages(ctx context.Context, contentType string, start, end time.Time, all []Blob) ([]Blob, error) {
	q := url.Values{"contentType": {contentType}}
	if !start.IsZero() {
		q.Set("startTime", FormatTime(start))
		q.Set("endTime", FormatTime(end))
	}
	cl := &call{op: "list content", contentType: contentType, method: http.MethodGet, path: "subscriptions/content", query: q}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var next string
		err := c.do(ctx, cl, func(resp *http.Response) error {
			// An attempt that fails gives back what it decoded; the
			// next one starts the page again.
			n := len(all)
			var err error
			if all, err = c.decodePage(ctx, resp.Body, contentType, page, all); err != nil {
				c.ReleaseListing(all[n:])
				clear(all[n:])
				all = all[:n]
				return err
			}
			// Header.Get canonicalises the name; the troubleshooting page
			// spells it NextPageUrl.
			next = resp.Header.Get("NextPageUri")
			if next == "" {
				next = resp.Header.Get("NextPageUrl")
			}
			return nil
		})
		if err != nil {
			return all, err
		}
		// Blobs count as queued when they are handed to Download (or
		// Scan), not when listed: a fetch cut at max_fetch downloads only
		// some of what it lists, and a restarted listing lists blobs twice.
		c.cfg.Progress.PageListed()
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return all, fmt.Errorf("list content %s: the API sent back an earlier next-page link after page %d; stopping to avoid an endless loop (run the command again, or narrow the time range)", contentType, page)
		}
		if page >= maxPages {
			return all, errors.New("list content " + contentType + ": more than 10000 pages; stopping")
		}
		seen[next] = true
		cl = &call{op: "list content", contentType: contentType, method: http.MethodGet, url: next}
	}
}

// decodePage decodes one listing page (a JSON array of blob descriptors) as
// a stream, one descriptor at a time, appending them to blobs, each charged
// to the budget as it is decoded (the caller releases them, error or not).
func (c *Client) decodePage(ctx context.Context, body io.Reader, contentType string, page int, blobs []Blob) ([]Blob, error) {
	lr := &io.LimitedReader{R: body, N: c.maxPageBytes + 1}
	pr := &pageReader{r: lr}
	dec := json.NewDecoder(pr)
	pr.dec = dec
	op := "list content " + contentType
	first := len(blobs)
	fail := func(err error) error {
		n := len(blobs) - first
		switch {
		case errors.Is(err, errDescriptorTooLarge):
			return permanent("%s: listing page %d: blob descriptor %d takes more than %s of JSON (or so much blank space comes before it); a descriptor is a few hundred bytes: stopping (check base_url and any proxy in between)", op, page, n+1, kib(MaxDescriptorBytes))
		case errors.Is(err, errListingBudget):
			return permanent("%s: listing page %d: the %s blob descriptors listed so far hold more than the run's in-flight budget of %s (the max_blob_mb parameter, which bounds the memory of a listing as well as of the blobs being downloaded); raise max_blob_mb, or, for list-content and search-records, give a shorter time range", op, page, progress.Thousands(len(blobs)), mib(c.budget.limit))
		case lr.N <= 0:
			return fmt.Errorf("%s: listing page %d never ends: more than %s of JSON after %d blob descriptors; stopping (Microsoft's pages are far smaller: check base_url and any proxy in between)", op, page, mib(c.maxPageBytes), n)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return &readError{fmt.Errorf("listing page %d ended in the middle of its JSON after %d blob descriptor(s) (truncated: %w)", page, n, io.ErrUnexpectedEOF)}
		}
		var re *readError
		if errors.As(err, &re) || ctx.Err() != nil {
			return err
		}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) {
			return fmt.Errorf("%s: listing page %d is not the expected JSON array of blob descriptors (after %d of them): %v", op, page, n, err)
		}
		return &readError{err}
	}
	tok, err := dec.Token()
	if err != nil {
		return blobs, fail(err)
	}
	if tok == nil { // "null": no blobs
		return blobs, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return blobs, fmt.Errorf("%s: listing page %d is not a JSON array of blob descriptors (it starts with %v)", op, page, tok)
	}
	for dec.More() {
		var b Blob
		if err := dec.Decode(&b); err != nil {
			return blobs, fail(err)
		}
		if missing := b.missing(); missing != "" {
			return blobs, permanent("%s: listing page %d: blob descriptor %d has no %s, so it cannot be downloaded nor recognized once delivered; stopping (not a listing of content blobs: check base_url and any proxy in between)", op, page, len(blobs)-first+1, missing)
		}
		if b.ContentType == contentType {
			b.ContentType = contentType // one copy of the name, not one per blob
		}
		if err := c.budget.takeListing(ctx, descriptorCost(&b)); err != nil {
			return blobs, fail(err)
		}
		blobs = append(blobs, b)
	}
	if _, err := dec.Token(); err != nil {
		return blobs, fail(err)
	}
	return blobs, nil
}

// missing names the fields a descriptor lacks among those a blob needs.
func (b *Blob) missing() string {
	switch {
	case b.ContentID == "" && b.ContentURI == "":
		return "contentId and no contentUri"
	case b.ContentID == "":
		return "contentId"
	case b.ContentURI == "":
		return "contentUri"
	}
	return ""
}

// permanentError is a listing answer refused for what it holds: asking
// again would cost as much for the same answer, so it is not retried.
type permanentError struct{ error }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

func (e *permanentError) Unwrap() error { return e.error }

// errDescriptorTooLarge is pageReader's refusal.
var errDescriptorTooLarge = errors.New("blob descriptor too large")

// pageReader feeds a listing page to its decoder, refusing to read on once
// more than MaxDescriptorBytes wait in the decoder's buffer undecoded: the
// decoder holds a whole value (and the blank space before it) before
// decoding it, so one endless string, or endless blank space, would
// otherwise be held whole up to the page cap.
type pageReader struct {
	r    io.Reader
	dec  *json.Decoder
	read int64
}

func (p *pageReader) Read(b []byte) (int, error) {
	if p.read-p.dec.InputOffset() > MaxDescriptorBytes {
		return 0, errDescriptorTooLarge
	}
	n, err := p.r.Read(b)
	p.read += int64(n)
	return n, err
}

func kib(n int64) string { return fmt.Sprintf("%d KiB", n>>10) }
