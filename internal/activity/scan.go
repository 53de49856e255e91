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

	seq    int64   // the blob's start sequence
	charge *charge // what the blob holds of the client's budget
}

// Scan lists every listing and downloads every blob they list through one
// pool of Concurrency workers: a worker takes a listed blob when there is
// one and the read-ahead allows it, else the next listing, so downloads of
// one window overlap the listings of the next with no barrier between
// windows or content types. Listings run one at a time, once the blobs
// listed before are nearly all handed out, and their descriptors are
// charged to the in-flight budget until then: what waits to be downloaded
// is one listing's at most (a listing larger than the budget fails).
//
// fn is called from the caller's goroutine, never concurrently, once per
// listing and once per blob, in the order they complete. At most
// 2×Concurrency downloaded blobs wait for fn, and what they hold is charged
// to the client's in-flight budget (see budget; the oldest download in
// flight never waits for it, so the scan cannot stall), so memory stays
// bounded however many blobs the listings hold and however large they are;
// a blob's bytes are released when fn returns for it. Returning an error from fn stops the
// scan (in-flight requests are cancelled) and Scan returns that error.
func (c *Client) Scan(ctx context.Context, listings []Listing, fn func(ScanItem) error) error {
	if len(listings) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := max(c.cfg.Concurrency, 1)
	q := &scanQueue{listings: listings, maxAhead: 2 * workers, workers: workers, inFlight: map[int64]bool{}}
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
	// Drain after a stop, so no worker outlives Scan and every blob's
	// bytes go back to the budget, and so do the descriptors of the blobs
	// listed and not handed out.
	defer func() {
		cancel()
		for it := range items {
			c.releaseScanned(q, it)
		}
		for _, sb := range q.blobs {
			c.ReleaseListing([]Blob{sb.blob})
		}
	}()

	for it := range items {
		if it.Blob != nil {
			c.cfg.Progress.BlobDone(len(it.Records))
		}
		err := fn(it)
		c.releaseScanned(q, it)
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// releaseScanned frees what a delivered blob held: its read-ahead slot,
// its place among the downloads in flight (the next oldest becomes head)
// and its bytes, through passHead.
func (c *Client) releaseScanned(q *scanQueue, it ScanItem) {
	if it.Blob == nil {
		return
	}
	c.passHead(func() { q.release(it.seq) }, it.charge.bytes)
}

// scanQueue is the shared work of a Scan's workers.
type scanQueue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	listings []Listing // not yet started, in order
	blobs    []scanBlob
	listing  int // listings in progress (at most one)
	ahead    int // blobs being downloaded or waiting for fn
	maxAhead int
	workers  int
	// Start sequences of the blobs handed out and not yet released; the
	// lowest is the oldest download, which never waits for the budget.
	seq      int64
	inFlight map[int64]bool
	oldest   int64
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

// release frees the read-ahead slot of blob seq, which fn is done with.
func (q *scanQueue) release(seq int64) {
	q.mu.Lock()
	q.ahead--
	delete(q.inFlight, seq)
	for q.oldest < q.seq && !q.inFlight[q.oldest] {
		q.oldest++
	}
	q.cond.Broadcast()
	q.mu.Unlock()
}

// isOldest reports whether blob seq is the oldest download in flight.
func (q *scanQueue) isOldest(seq int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return seq == q.oldest
}

// next waits for work: a blob (it then holds a read-ahead slot and a start
// sequence) or a listing. ok is false when there is nothing left or ctx is
// done.
func (q *scanQueue) next(ctx context.Context) (b *scanBlob, seq int64, l *Listing, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return nil, 0, nil, false
		}
		if len(q.blobs) > 0 && q.ahead < q.maxAhead {
			sb := q.blobs[0]
			q.blobs[0] = scanBlob{}
			q.blobs = q.blobs[1:]
			q.ahead++
			seq := q.seq
			q.seq++
			q.inFlight[seq] = true
			return &sb, seq, nil, true
		}
		// One listing at a time, once the blobs listed before are nearly
		// all handed out: the descriptors waiting are then at most one
		// listing's, which the budget bounds (takeListing), instead of
		// those of every listing the workers could start at once.
		if len(q.listings) > 0 && q.listing == 0 && len(q.blobs) < q.workers {
			l := q.listings[0]
			q.listings = q.listings[1:]
			q.listing++
			return nil, 0, &l, true
		}
		if len(q.blobs) == 0 && q.listing == 0 {
			return nil, 0, nil, false // everything listed and handed out
		}
		q.cond.Wait()
	}
}

func (c *Client) scanWorker(ctx context.Context, q *scanQueue, items chan<- ScanItem) {
	for {
		sb, seq, l, ok := q.next(ctx)
		if !ok {
			return
		}
		if l != nil {
			// Charged to the budget until handed out (next).
			blobs, err := c.listWindow(ctx, l.ContentType, l.Start, l.End, nil)
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
		// Its descriptor is held by the download from here on, one of at
		// most maxAhead (outside q.mu: the budget's lock is taken first).
		c.ReleaseListing([]Blob{sb.blob})
		ch := &charge{b: c.budget, ctx: ctx, head: func() bool { return q.isOldest(seq) }}
		recs, err := c.fetch(ctx, sb.blob, ch)
		items <- ScanItem{Listing: sb.listing, Blob: &sb.blob, Records: recs, Err: err, seq: seq, charge: ch}
	}
}
