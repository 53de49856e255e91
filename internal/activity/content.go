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
)

// The API's listing limits.
const (
	// MaxWindow is the longest time window one content listing may cover.
	MaxWindow = 24 * time.Hour
	// Retention is how far back a listing may start: content is kept for
	// 7 days.
	Retention = 7 * 24 * time.Hour
)

// MaxPageBytes is how much JSON one listing page may hold (decoded): a
// guard against a page that never ends, far above any real page (100,000
// blobs are 29 MiB).
const MaxPageBytes = 1 << 30

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
func (c *Client) ListContent(ctx context.Context, contentType string, start, end time.Time) ([]Blob, error) {
	if start.IsZero() != end.IsZero() {
		return nil, fmt.Errorf("list content %s: give both start and end or neither", contentType)
	}
	if start.IsZero() {
		return c.listWindow(ctx, contentType, time.Time{}, time.Time{})
	}
	if !end.After(start) {
		return nil, fmt.Errorf("list content %s: end %s is not after start %s", contentType, FormatTime(end), FormatTime(start))
	}
	var all []Blob
	for _, w := range SplitWindow(start, end) {
		blobs, err := c.listWindow(ctx, contentType, w[0], w[1])
		if err != nil {
			return all, err
		}
		all = append(all, blobs...)
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

func (c *Client) listWindow(ctx context.Context, contentType string, start, end time.Time) ([]Blob, error) {
	restarted := false
	for {
		blobs, err := c.listPages(ctx, contentType, start, end)
		if err != nil && ErrorCode(err) == CodeStalePage && !restarted {
			restarted = true
			c.cfg.Logger.Info("stale next-page link (AF20031); listing the window again", "contentType", contentType, "start", start, "end", end)
			continue
		}
		if err != nil && !start.IsZero() {
			err = fmt.Errorf("%w [window %s – %s]", err, FormatTime(start), FormatTime(end))
		}
		return blobs, err
	}
}

func (c *Client) listPages(ctx context.Context, contentType string, start, end time.Time) ([]Blob, error) {
	q := url.Values{"contentType": {contentType}}
	if !start.IsZero() {
		q.Set("startTime", FormatTime(start))
		q.Set("endTime", FormatTime(end))
	}
	cl := &call{op: "list content", contentType: contentType, method: http.MethodGet, path: "subscriptions/content", query: q}
	seen := map[string]bool{}
	var all []Blob
	for page := 1; ; page++ {
		var blobs []Blob
		var next string
		err := c.do(ctx, cl, func(resp *http.Response) error {
			var err error
			if blobs, err = c.decodePage(resp.Body, contentType, page); err != nil {
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
		all = append(all, blobs...)
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
// a stream, one descriptor at a time.
func (c *Client) decodePage(body io.Reader, contentType string, page int) ([]Blob, error) {
	lr := &io.LimitedReader{R: body, N: c.maxPageBytes + 1}
	dec := json.NewDecoder(lr)
	op := "list content " + contentType
	fail := func(err error, n int) error {
		switch {
		case lr.N <= 0:
			return fmt.Errorf("%s: listing page %d never ends: more than %s of JSON after %d blob descriptors; stopping (Microsoft's pages are far smaller: check base_url and any proxy in between)", op, page, mib(c.maxPageBytes), n)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return &readError{fmt.Errorf("listing page %d ended in the middle of its JSON after %d blob descriptor(s) (truncated: %w)", page, n, io.ErrUnexpectedEOF)}
		}
		var re *readError
		if errors.As(err, &re) {
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
		return nil, fail(err, 0)
	}
	if tok == nil { // "null": no blobs
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%s: listing page %d is not a JSON array of blob descriptors (it starts with %v)", op, page, tok)
	}
	var blobs []Blob
	for dec.More() {
		var b Blob
		if err := dec.Decode(&b); err != nil {
			return blobs, fail(err, len(blobs))
		}
		blobs = append(blobs, b)
	}
	if _, err := dec.Token(); err != nil {
		return blobs, fail(err, len(blobs))
	}
	return blobs, nil
}
