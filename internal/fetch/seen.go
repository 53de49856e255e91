package fetch

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// Hash is the 64-bit dedupe key of a record Id or a blob contentId: the
// first 8 bytes of SHA-256. With ~100k live keys the chance that a new key
// collides with one of them is ~5e-15 per lookup, so a false "duplicate"
// (a lost record) is negligible; an exact string set would not fit in
// lastRun at 1M records/day.
func Hash(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.LittleEndian.Uint64(sum[:8])
}

// bucket holds what was delivered from the blobs of one content type whose
// contentCreated falls in one UTC minute. Pruning drops whole buckets.
type bucket struct {
	blobs   []uint64 // contentId hashes of fully delivered blobs
	records []uint64 // record Id hashes first delivered by these blobs
}

// seen is one content type's dedupe state, bucketed by minute.
type seen struct {
	buckets map[int64]*bucket // by Unix minute of contentCreated
}

func newSeen() *seen { return &seen{buckets: map[int64]*bucket{}} }

func minuteOf(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 59) / 60
	}
	return u / 60
}

func (s *seen) bucket(created time.Time) *bucket {
	m := minuteOf(created)
	b := s.buckets[m]
	if b == nil {
		b = &bucket{}
		s.buckets[m] = b
	}
	return b
}

// prune drops the buckets whose whole minute is before t, handing each to
// dropped.
func (s *seen) prune(t time.Time, dropped func(minute int64, b *bucket)) {
	limit := minuteOf(t) // buckets < limit end at or before t's minute start
	for m, b := range s.buckets {
		if m < limit {
			dropped(m, b)
			delete(s.buckets, m)
		}
	}
}

const seenFormat = 1

// encode serializes the buckets: a format byte, the bucket count, then per
// bucket (ascending minutes) the minute delta, and the blob and record hash
// sets, each sorted and Golomb-Rice coded (≈7 bytes per hash instead of 8).
func (s *seen) encode() []byte {
	if len(s.buckets) == 0 {
		return nil
	}
	mins := make([]int64, 0, len(s.buckets))
	for m := range s.buckets {
		mins = append(mins, m)
	}
	slices.Sort(mins)
	out := []byte{seenFormat}
	out = binary.AppendUvarint(out, uint64(len(mins)))
	prev := int64(0)
	for i, m := range mins {
		if i == 0 {
			out = binary.AppendVarint(out, m)
		} else {
			out = binary.AppendUvarint(out, uint64(m-prev))
		}
		prev = m
		b := s.buckets[m]
		out = appendSet(out, b.blobs)
		out = appendSet(out, b.records)
	}
	return out
}

// decodeSeen parses what encode wrote.
func decodeSeen(data []byte) (*seen, error) {
	s := newSeen()
	if len(data) == 0 {
		return s, nil
	}
	if data[0] != seenFormat {
		return nil, fmt.Errorf("unknown dedupe set format %d", data[0])
	}
	r := &byteReader{b: data[1:]}
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(data)) {
		return nil, errCorrupt
	}
	var m int64
	for i := uint64(0); i < n; i++ {
		if i == 0 {
			v, err := r.varint()
			if err != nil {
				return nil, err
			}
			m = v
		} else {
			d, err := r.uvarint()
			if err != nil {
				return nil, err
			}
			if d == 0 || d > 1<<40 {
				return nil, errCorrupt
			}
			m += int64(d)
		}
		b := &bucket{}
		if b.blobs, err = r.set(); err != nil {
			return nil, err
		}
		if b.records, err = r.set(); err != nil {
			return nil, err
		}
		s.buckets[m] = b
	}
	if len(r.b) != 0 {
		return nil, errCorrupt
	}
	return s, nil
}

var errCorrupt = errors.New("the dedupe set is corrupt")

// appendSet writes a set of hashes: its size, then (when not empty) the
// Rice parameter k and the gaps between the sorted values, each as a unary
// quotient (gap>>k ones, a zero) and k low bits.
func appendSet(out []byte, vals []uint64) []byte {
	v := slices.Clone(vals)
	slices.Sort(v)
	v = slices.Compact(v)
	out = binary.AppendUvarint(out, uint64(len(v)))
	if len(v) == 0 {
		return out
	}
	k := riceK(uint64(len(v)))
	out = append(out, byte(k))
	w := bitWriter{out: out}
	prev := uint64(0)
	for i, x := range v {
		gap := x - prev
		if i == 0 {
			gap = x
		}
		prev = x
		for q := gap >> k; q > 0; q-- {
			w.bit(1)
		}
		w.bit(0)
		w.bits(gap, k)
	}
	return w.flush()
}

// riceK is the Rice parameter for n values spread uniformly over 2^64:
// about log2 of the mean gap.
func riceK(n uint64) uint {
	k := 64 - bits.Len64(n)
	if k > 63 {
		k = 63
	}
	if k < 0 {
		k = 0
	}
	return uint(k)
}

type bitWriter struct {
	out  []byte
	cur  byte
	nbit uint
}

func (w *bitWriter) bit(b uint64) {
	w.cur = w.cur<<1 | byte(b&1)
	w.nbit++
	if w.nbit == 8 {
		w.out = append(w.out, w.cur)
		w.cur, w.nbit = 0, 0
	}
}

func (w *bitWriter) bits(v uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.bit(v >> uint(i))
	}
}

func (w *bitWriter) flush() []byte {
	if w.nbit > 0 {
		w.out = append(w.out, w.cur<<(8-w.nbit))
	}
	return w.out
}

type byteReader struct{ b []byte }

func (r *byteReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *byteReader) varint() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, errCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *byteReader) set() ([]uint64, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	// Every value takes at least one bit beyond the parameter byte.
	if len(r.b) == 0 || n > uint64(len(r.b))*8 {
		return nil, errCorrupt
	}
	k := uint(r.b[0])
	if k > 63 {
		return nil, errCorrupt
	}
	data := r.b[1:]
	// q<<k must fit in 64 bits.
	qLimit := uint64(1) << (64 - k)
	if k == 0 {
		qLimit = 1 << 63
	}
	pos := uint64(0) // bit position
	total := uint64(len(data)) * 8
	bit := func() (uint64, bool) {
		if pos >= total {
			return 0, false
		}
		b := data[pos>>3] >> (7 - pos&7) & 1
		pos++
		return uint64(b), true
	}
	out := make([]uint64, 0, n)
	prev := uint64(0)
	for i := uint64(0); i < n; i++ {
		var q uint64
		for {
			b, ok := bit()
			if !ok {
				return nil, errCorrupt
			}
			if b == 0 {
				break
			}
			q++
			if q >= qLimit {
				return nil, errCorrupt
			}
		}
		low := uint64(0)
		for j := uint(0); j < k; j++ {
			b, ok := bit()
			if !ok {
				return nil, errCorrupt
			}
			low = low<<1 | b
		}
		gap := q<<k | low
		x := prev + gap
		if i > 0 && (gap == 0 || x < prev) {
			return nil, errCorrupt
		}
		out = append(out, x)
		prev = x
	}
	r.b = data[(pos+7)/8:]
	return out, nil
}

// recordHash is the dedupe key of a record: the hash of its Id, or, for a
// record without one (absent, empty or null), of its bytes, so a record
// delivered again byte for byte is still recognized.
func recordHash(id string, raw []byte) uint64 {
	if id != "" {
		return Hash(id)
	}
	h := sha256.New()
	h.Write([]byte("\x00record bytes\x00")) // never the hash of an Id
	h.Write(raw)
	var sum [sha256.Size]byte
	return binary.LittleEndian.Uint64(h.Sum(sum[:0]))
}

// oldest returns the start of the oldest minute holding anything.
func (s *seen) oldest() (time.Time, bool) {
	first, ok := int64(0), false
	for m := range s.buckets {
		if !ok || m < first {
			first, ok = m, true
		}
	}
	return time.Unix(first*60, 0).UTC(), ok
}
