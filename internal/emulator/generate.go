package emulator

import (
	"cmp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Generation describes synthetic audit data for Generate. Everything is
// derived from Seed: the same Generation applied to the same tenant, in the
// same order of Generate calls, yields the same content IDs and bytes.
//
// Events are spread over [Start, Start+Span): blob n of Blobs holds records
// whose CreationTime falls in the n-th equal slice of that span, unordered.
// A blob becomes available (contentCreated) Delay/2..Delay after its slice
// ends; a LateFraction of blobs arrives LateBy/2..LateBy later still, so the
// listing (ordered by contentCreated) shows them after blobs with newer
// events. A DuplicateFraction of record slots re-delivers a record of an
// earlier-available blob (same Id, same bytes), as the real pipeline does.
type Generation struct {
	Seed              int64
	ContentTypes      []string      // default: all five
	Blobs             int           // blobs per content type; default 10
	RecordsPerBlob    int           // default 50
	Start             time.Time     // default: emulator clock − Span
	Span              time.Duration // default 24h
	Delay             time.Duration // normal availability delay; default 30m
	LateFraction      float64       // fraction of blobs that are late, 0..1
	LateBy            time.Duration // extra delay of late blobs; default 6h
	DuplicateFraction float64       // fraction of record slots that re-deliver, 0..1
	// Lazy renders blob bytes on each GET instead of keeping them in
	// memory, so million-record windows cost only a few bytes per blob.
	Lazy bool
}

// Generated summarizes what Generate added.
type Generated struct {
	Blobs        int       // blobs added, over all content types
	Records      int       // record slots, re-deliveries included
	FirstCreated time.Time // earliest contentCreated
	LastCreated  time.Time // latest contentCreated; advance the clock past it to see everything
}

// Generate adds synthetic, realistic blobs to tenant (see Generation). Blobs
// whose contentCreated is after the emulator's clock stay hidden until the
// clock passes it. Safe to call while the server runs.
func (s *Server) Generate(tenantID string, g Generation) Generated {
	if g.Blobs <= 0 {
		g.Blobs = 10
	}
	if g.RecordsPerBlob <= 0 {
		g.RecordsPerBlob = 50
	}
	if g.Span <= 0 {
		g.Span = 24 * time.Hour
	}
	if g.Delay <= 0 {
		g.Delay = 30 * time.Minute
	}
	if g.LateBy <= 0 {
		g.LateBy = 6 * time.Hour
	}
	if g.Start.IsZero() {
		g.Start = s.Now().Add(-g.Span)
	}
	types := g.ContentTypes
	if len(types) == 0 {
		types = contentTypes
	}

	s.feed.mu.Lock()
	s.feed.genSeq++
	seq := s.feed.genSeq
	s.feed.mu.Unlock()

	var out Generated
	var all []*blob
	for _, raw := range types {
		ct := mustContentType(raw)
		gen := newGeneration(tenantID, ct, seq, g)
		blobs := gen.blobs()
		if !g.Lazy {
			renderAll(blobs)
		}
		all = append(all, blobs...)
		out.Records += len(blobs) * g.RecordsPerBlob
	}
	out.Blobs = len(all)
	for i, b := range all {
		if i == 0 || b.created.Before(out.FirstCreated) {
			out.FirstCreated = b.created
		}
		if b.created.After(out.LastCreated) {
			out.LastCreated = b.created
		}
	}

	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	for _, b := range all {
		t.insertLocked(b)
	}
	return out
}

// renderAll fills every blob's data using all cores.
func renderAll(blobs []*blob) {
	var wg sync.WaitGroup
	work := make(chan *blob)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for b := range work {
				b.data = b.gen.renderBlob(b.pos)
			}
		})
	}
	for _, b := range blobs {
		work <- b
	}
	close(work)
	wg.Wait()
}

// generation is one content type's share of a Generate call. It is immutable
// after newGeneration, so lazy rendering needs no lock.
type generation struct {
	key     uint64
	org     string // OrganizationId
	ct      string
	records int
	start   time.Time
	slice   time.Duration // event-time slice per blob
	dup     float64
	created []time.Time // by natural (event-time) index
	ids     []string    // content IDs, by natural index
	order   []int       // availability position → natural index
}

func newGeneration(tenantID, ct string, seq uint64, g Generation) *generation {
	ctIdx := slices.Index(contentTypes, ct)
	gen := &generation{
		key:     mix(uint64(g.Seed), hashString(strings.ToLower(tenantID)), seq, uint64(ctIdx)),
		org:     tenantID,
		ct:      ct,
		records: g.RecordsPerBlob,
		start:   g.Start.UTC(),
		slice:   g.Span / time.Duration(g.Blobs),
		dup:     g.DuplicateFraction,
		created: make([]time.Time, g.Blobs),
		ids:     make([]string, g.Blobs),
		order:   make([]int, g.Blobs),
	}
	if gen.slice < time.Millisecond {
		gen.slice = time.Millisecond
	}
	for n := range g.Blobs {
		r := newRNG(mix(gen.key, 0xC4EA7ED, uint64(n)))
		c := gen.start.Add(gen.slice * time.Duration(n+1)).Add(g.Delay/2 + r.dur(g.Delay/2))
		if r.float() < g.LateFraction {
			c = c.Add(g.LateBy/2 + r.dur(g.LateBy/2))
		}
		c = c.Truncate(time.Millisecond)
		gen.created[n] = c
		gen.ids[n] = makeContentID(c, mix(gen.key, 0xB10B, uint64(n)), ct)
		gen.order[n] = n
	}
	slices.SortFunc(gen.order, func(a, b int) int {
		return cmp.Or(gen.created[a].Compare(gen.created[b]), strings.Compare(gen.ids[a], gen.ids[b]))
	})
	return gen
}

// blobs returns the generation's blobs in availability order, without data.
func (g *generation) blobs() []*blob {
	out := make([]*blob, len(g.order))
	for p, n := range g.order {
		out[p] = &blob{id: g.ids[n], contentType: g.ct, created: g.created[n], gen: g, pos: p}
	}
	return out
}

// source says which record fills slot i of the blob at availability
// position p: its own (natural blob n, index i) record, or, for a
// re-delivery, the record some earlier-available blob delivered first.
func (g *generation) source(p, i int) (n, j int) {
	for {
		n = g.order[p]
		if p == 0 || g.dup <= 0 {
			return n, i
		}
		r := newRNG(mix(g.key, 0xD0D0, uint64(n), uint64(i)))
		if r.float() >= g.dup {
			return n, i
		}
		// Follow the chain so a re-delivery always repeats a record an
		// earlier blob really delivered.
		p, i = r.intn(p), r.intn(g.records)
	}
}

func (g *generation) renderBlob(p int) []byte {
	buf := make([]byte, 0, g.records*2048+2) // records run 0.8–1.8 KB
	buf = append(buf, '[')
	rw := g.newRecordWriter()
	for i := range g.records {
		if i > 0 {
			buf = append(buf, ',')
		}
		n, j := g.source(p, i)
		buf = rw.render(buf, n, j)
	}
	return append(buf, ']')
}

func (g *generation) blobRefs(b *blob) []RecordRef {
	out := make([]RecordRef, g.records)
	for i := range out {
		n, j := g.source(b.pos, i)
		raw := g.appendRecord(nil, n, j)
		out[i] = RecordRef{ID: g.recordID(n, j), ContentType: g.ct, ContentID: b.id, ContentCreated: b.created, Raw: raw}
	}
	return out
}

func (g *generation) blobIDs(p int) []string {
	out := make([]string, g.records)
	for i := range out {
		out[i] = g.recordID(g.source(p, i))
	}
	return out
}

// recordRNG seeds record (n, j); its first two draws are the record's Id.
func (g *generation) recordRNG(n, j int) rng {
	return rng{s: mix(g.key, 0x4EC04D, uint64(n), uint64(j))}
}

func (g *generation) recordID(n, j int) string {
	r := g.recordRNG(n, j)
	return string(appendGUID(nil, r.next(), r.next()))
}

// DemoTenantID is the demo's tenant.
const DemoTenantID = "7b5a1d2e-3c4f-4a6b-8d9e-0f1a2b3c4d5e"

// DemoGeneration is the preset the demo uses: all five content types, a few
// thousand records over the last 20 hours, some late blobs and re-deliveries.
func DemoGeneration() Generation {
	return Generation{
		Seed:              20261128,
		Blobs:             16,
		RecordsPerBlob:    40,
		Span:              20 * time.Hour,
		Delay:             45 * time.Minute,
		LateFraction:      0.15,
		LateBy:            4 * time.Hour,
		DuplicateFraction: 0.03,
	}
}

// ---- deterministic randomness ----

// rng is splitmix64: tiny, fast, and good enough for synthetic data; each
// record gets its own stream so blobs render independently and lazily.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(r.next() % uint64(n))
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) dur(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(r.next() % uint64(max))
}

func (r *rng) chance(p float64) bool { return r.float() < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// mix folds values into one well-spread 64-bit seed.
func mix(vals ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, v := range vals {
		r := rng{s: h ^ v}
		h = r.next()
	}
	return h
}

const hexDigits = "0123456789abcdef"

// appendGUID renders two random words as a version-4 GUID.
func appendGUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12
	lo = lo&^(0x3<<62) | 0x2<<62
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

func (r *rng) guid() string { return string(appendGUID(nil, r.next(), r.next())) }

func guidFrom(seed uint64) string {
	r := newRNG(seed)
	return r.guid()
}

func appendHex(b []byte, v uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// ---- a minimal JSON writer (encoding/json is too slow for a million records) ----

type jw struct {
	b    []byte
	need bool // a comma is due before the next key or value
}

func (w *jw) sep() {
	if w.need {
		w.b = append(w.b, ',')
	}
	w.need = false
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) str(v string) { w.sep(); w.b = appendJSONString(w.b, v); w.need = true }
func (w *jw) num(v int)    { w.sep(); w.b = strconv.AppendInt(w.b, int64(v), 10); w.need = true }
func (w *jw) lit(v string) { w.sep(); w.b = append(w.b, v...); w.need = true }
func (w *jw) open(c byte)  { w.sep(); w.b = append(w.b, c) }
func (w *jw) close(c byte) { w.b = append(w.b, c); w.need = true }

func (w *jw) kstr(k, v string)     { w.key(k); w.str(v) }
func (w *jw) knum(k string, v int) { w.key(k); w.num(v) }
func (w *jw) klit(k, v string)     { w.key(k); w.lit(v) }
func (w *jw) kbool(k string, v bool) {
	if v {
		w.klit(k, "true")
	} else {
		w.klit(k, "false")
	}
}

// nameValues writes [{"Name":n,"Value":v},…] from alternating pairs.
func (w *jw) nameValues(k string, nameKey, valueKey string, pairs ...string) {
	w.key(k)
	w.open('[')
	for i := 0; i+1 < len(pairs); i += 2 {
		w.open('{')
		w.kstr(nameKey, pairs[i])
		w.kstr(valueKey, pairs[i+1])
		w.close('}')
	}
	w.close(']')
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			clean = false
			break
		}
	}
	if clean { // the common case: one copy
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// ktime writes t in layout (which must need no JSON escaping).
func (w *jw) ktime(k string, t time.Time, layout string) {
	w.key(k)
	w.sep()
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, layout)
	w.b = append(w.b, '"')
	w.need = true
}
