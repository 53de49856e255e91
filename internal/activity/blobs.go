package activity

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// FetchContent downloads one content blob (its contentUri) and returns its
// records in the blob's order. Missing, expired and invalid blobs
// (AF20050/51/52) and undecodable bodies are errors for which IsSkippable is
// true.
func (c *Client) FetchContent(ctx context.Context, contentURI string) ([]Record, error) {
	return c.fetch(ctx, Blob{ContentURI: contentURI, ContentID: contentURI}, nil)
}

// fetch downloads one blob, charging what it decodes to ch (nil: no
// budget).
func (c *Client) fetch(ctx context.Context, b Blob, ch *charge) ([]Record, error) {
	id := b.ContentID
	if id == "" {
		id = b.ContentURI
	}
	cl := &call{op: "download content blob " + id, contentType: "", method: http.MethodGet, url: b.ContentURI, gated: true}
	if ch != nil {
		cl.head = ch.head
	}
	var recs []Record
	err := c.do(ctx, cl, func(resp *http.Response) error {
		recs = recs[:0]
		if resp.ContentLength > c.cfg.MaxBlobBytes {
			return &ContentError{ContentID: id, Reason: tooLarge(c.cfg.MaxBlobBytes), TooLarge: true}
		}
		d := newBlobDecoder(resp.Body, c.cfg.MaxBlobBytes, id)
		d.charge = ch
		for {
			r, err := d.next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if len(recs) == cap(recs) {
				// The slice is about to grow: charge the Records it will hold.
				if err := ch.take(int64(max(8, 2*cap(recs))-cap(recs)) * recordSize); err != nil {
					return err
				}
				grown := make([]Record, len(recs), max(8, 2*cap(recs)))
				copy(grown, recs)
				recs = grown
			}
			recs = append(recs, r)
		}
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func mib(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func tooLarge(max int64) string {
	return fmt.Sprintf("it is larger than the per-blob cap of %s, counted in decoded bytes after any Content-Encoding (raise the max_blob_mb parameter)", mib(max))
}

// Download fetches blobs with the client's worker pool and calls fn once per
// blob, in the order of blobs, with the blob's records in their order (or
// the blob's error) — the same sequence at any concurrency. Workers fetch at
// most 2×Concurrency blobs ahead of fn, and what they hold is bounded by the
// run's in-flight budget (twice MaxBlobBytes, see budget) whatever the
// concurrency and the blobs' sizes: a blob's bytes are released when fn
// returns for it.
//
// fn decides what a blob error means: return nil to go on (e.g. when
// IsSkippable(err)), or an error to stop; Download then returns that error.
// fn is called from the caller's goroutine, never concurrently.
func (c *Client) Download(ctx context.Context, blobs []Blob, fn func(b Blob, recs []Record, err error) error) error {
	if len(blobs) == 0 {
		return nil
	}
	c.cfg.Progress.BlobsQueued(len(blobs))
	delivered := 0
	// Blobs not delivered when Download returns (fn stopped it, or it
	// failed) are withdrawn, so the progress bar ends at done/done.
	defer func() { c.cfg.Progress.BlobsQueued(delivered - len(blobs)) }()
	workers := min(c.cfg.Concurrency, len(blobs))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// next is the index of the blob fn gets next: that download never
	// waits for the budget.
	var next atomic.Int64
	charges := make([]*charge, len(blobs))
	for i := range charges {
		charges[i] = &charge{b: c.budget, ctx: ctx, head: func() bool { return next.Load() == int64(i) }}
	}
	defer func() {
		cancel()
		wg.Wait() // no worker outlives Download
		// What was not delivered (stopped, canceled) is released too.
		for i := int(next.Load()); i < len(charges); i++ {
			if n := charges[i].bytes; n > 0 {
				c.budget.give(n)
			}
		}
	}()

	type result struct {
		recs []Record
		err  error
	}
	results := make([]chan result, len(blobs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers)
	jobs := make(chan int)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range blobs {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				recs, err := c.fetch(ctx, blobs[i], charges[i])
				results[i] <- result{recs, err}
			}
		}()
	}
	for i := range blobs {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		delivered++
		c.cfg.Progress.BlobDone(len(r.recs))
		if r.err != nil && ctx.Err() != nil {
			return r.err
		}
		err := fn(blobs[i], r.recs, r.err)
		c.passHead(func() { next.Store(int64(i + 1)) }, charges[i].bytes)
		if err != nil {
			return err
		}
	}
	return nil
}
