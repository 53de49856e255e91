package activity

import (
	"context"
	"sync"
	"time"
)

// Listing is one content listing of a Scan: a content type over
// [Start, End), at most MaxWindow long (see SplitWindow).
type Listing struct {
	ContentType string
	Start, End  time.Time
}

// ScanItem is one event of a Scan: a listing that finished (Blob is nil,
// Blobs how many it listed, Err its failure) or a blob that was downloaded
// (Records, or Err when it could not be).
type ScanItem struct {
	Listing Listing
	Blob    *Blob
	Blobs   int
	Records []Record
	Err     error
}

// Scan lists every listing and downloads every blob they list through one
// pool of Concurrency workers: a worker takes a listed blob when there is
// one and the read-ahead allows it, else the next listing, so downloads of
// one window overlap the listings of the next with no barrier between
// windows or content types.
//
// fn is called from the caller's goroutine, never concurrently, once per
// listing and once per blob, in the order they complete. At most
// 2×Concurrency downloaded blobs wait for fn, so memory stays bounded
// however many blobs the listings hold; a blob's records are not kept after
// fn returns unless fn keeps them. Returning an error from fn stops the
// scan (in-flight requests are cancelled) and Scan returns that error.
func (c *Client) Scan(ctx context.Context, listings []Listing, fn func(ScanItem) error) error {
	if len(listings) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := max(c.cfg.Concurrency, 1)
	q := &scanQueue{listings: listings, maxAhead: 2 * workers}
	q.cond = sync.NewCond(&q.mu)
	stopWake := context.AfterFunc(ctx, q.wakeAll)
	defer stopWake()

	// Every listing sends one item and every blob at most one while
	// holding a read-ahead slot, so this buffer never fills: workers never
	// block on a send, whatever fn does.
	items := make(chan ScanItem, len(listings)+q.maxAhead)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { c.scanWorker(ctx, q, items) })
	}
	go func() {
		wg.Wait()
		close(items)
	}()
	// Drain after a stop, so no worker outlives Scan.
	defer func() {
		cancel()
		for range items {
		}
	}()

	for it := range items {
		if it.Blob != nil {
			c.cfg.Progress.BlobDone(len(it.Records))
		}
		err := fn(it)
		if it.Blob != nil {
			q.release()
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// scanQueue is the shared work of a Scan's workers.
type scanQueue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	listings []Listing // not yet started, in order
	blobs    []scanBlob
	listing  int // listings in progress
	ahead    int // blobs being downloaded or waiting for fn
	maxAhead int
}

type scanBlob struct {
	listing Listing
	blob    Blob
}

func (q *scanQueue) wakeAll() {
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

// release frees the read-ahead slot of a blob fn is done with.
func (q *scanQueue) release() {
	q.mu.Lock()
	q.ahead--
	q.cond.Broadcast()
	q.mu.Unlock()
}

// next waits for work: a blob (it then holds a read-ahead slot) or a
// listing. ok is false when there is nothing left or ctx is done.
func (q *scanQueue) next(ctx context.Context) (b *scanBlob, l *Listing, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return nil, nil, false
		}
		if len(q.blobs) > 0 && q.ahead < q.maxAhead {
			sb := q.blobs[0]
			q.blobs[0] = scanBlob{}
			q.blobs = q.blobs[1:]
			q.ahead++
			return &sb, nil, true
		}
		if len(q.listings) > 0 {
			l := q.listings[0]
			q.listings = q.listings[1:]
			q.listing++
			return nil, &l, true
		}
		if len(q.blobs) == 0 && q.listing == 0 {
			return nil, nil, false // everything listed and handed out
		}
		q.cond.Wait()
	}
}

func (c *Client) scanWorker(ctx context.Context, q *scanQueue, items chan<- ScanItem) {
	for {
		sb, l, ok := q.next(ctx)
		if !ok {
			return
		}
		if l != nil {
			blobs, err := c.listWindow(ctx, l.ContentType, l.Start, l.End)
			c.cfg.Progress.BlobsQueued(len(blobs)) // a scan downloads every blob it lists
			q.mu.Lock()
			for _, b := range blobs {
				q.blobs = append(q.blobs, scanBlob{*l, b})
			}
			q.listing--
			q.cond.Broadcast()
			q.mu.Unlock()
			items <- ScanItem{Listing: *l, Blobs: len(blobs), Err: err}
			continue
		}
		recs, err := c.fetch(ctx, sb.blob, nil)
		items <- ScanItem{Listing: sb.listing, Blob: &sb.blob, Records: recs, Err: err}
	}
}
