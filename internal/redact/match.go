package redact

import (
	"io"
	"slices"
	"strings"
	"unsafe"
)

// matcher finds the forms of the secrets in text, longest first at each
// position. It is Wu-Manber's multi-pattern search: a window of the
// shortest form's length m slides over the text by the shift its last two
// bytes allow (up to m−1), and forms are compared only where the window
// could end a prefix of one. Text without secrets costs about one table
// lookup per m−1 bytes.
type matcher struct {
	m      int                 // the shortest form's length (≥ minLen)
	shift  [1 << 16]uint8      // by the window's last two bytes
	byTail map[uint16][]string // forms by the two bytes ending their first m
	maxLen int
}

func newMatcher(forms []string) *matcher {
	if len(forms) == 0 {
		return nil
	}
	mt := &matcher{m: len(forms[0]), byTail: map[uint16][]string{}}
	for _, f := range forms {
		mt.m = min(mt.m, len(f))
		mt.maxLen = max(mt.maxLen, len(f))
	}
	mt.m = min(mt.m, 255)
	for i := range mt.shift {
		mt.shift[i] = uint8(mt.m - 1)
	}
	for _, f := range forms {
		for j := 0; j+2 <= mt.m; j++ {
			k := uint16(f[j])<<8 | uint16(f[j+1])
			mt.shift[k] = min(mt.shift[k], uint8(mt.m-2-j))
		}
		k := uint16(f[mt.m-2])<<8 | uint16(f[mt.m-1])
		mt.byTail[k] = append(mt.byTail[k], f)
	}
	for k, fs := range mt.byTail {
		// Longest first, so a secret containing another is replaced whole.
		slices.SortStableFunc(fs, func(a, b string) int { return len(b) - len(a) })
		mt.byTail[k] = fs
	}
	return mt
}

// next returns the first position in [from, limit) where a form starts,
// and its length; -1 when there is none.
func (mt *matcher) next(src string, from, limit int) (int, int) {
	for i := from; i < limit && i+mt.m <= len(src); {
		k := uint16(src[i+mt.m-2])<<8 | uint16(src[i+mt.m-1])
		if s := mt.shift[k]; s > 0 {
			i += int(s)
			continue
		}
		for _, f := range mt.byTail[k] {
			if strings.HasPrefix(src[i:], f) {
				return i, len(f)
			}
		}
		i++
	}
	return -1, 0
}

func (mt *matcher) contains(s string) bool {
	i, _ := mt.next(s, 0, len(s))
	return i >= 0
}

// replace appends src to dst with every form that starts before limit
// replaced by Placeholder, and returns the index of src where it stopped
// (limit, or past a form that started before limit).
func (mt *matcher) replace(dst, src []byte, limit int) ([]byte, int) {
	text := unsafeString(src)
	run := 0
	for {
		i, n := mt.next(text, run, limit)
		if i < 0 {
			end := max(run, min(limit, len(src)))
			return append(dst, src[run:end]...), end
		}
		dst = append(dst, src[run:i]...)
		dst = append(dst, Placeholder...)
		run = i + n
	}
}

// Writer redacts everything written through it before it reaches the
// underlying writer, in a stream: a secret split across two Writes is still
// found. Flush writes what is held back.
type Writer struct {
	set     *Set
	w       io.Writer
	pending []byte
	out     []byte
	err     error
}

// Writer returns a redacting writer over w.
func (s *Set) Writer(w io.Writer) *Writer { return &Writer{set: s, w: w} }

const flushAt = 64 << 10

func (rw *Writer) Write(p []byte) (int, error) {
	if rw.err != nil {
		return 0, rw.err
	}
	rw.pending = append(rw.pending, p...)
	if len(rw.pending) >= flushAt {
		rw.process(false)
	}
	return len(p), rw.err
}

// Flush redacts and writes everything written so far.
func (rw *Writer) Flush() error {
	rw.process(true)
	return rw.err
}

func (rw *Writer) process(final bool) {
	if rw.err != nil || len(rw.pending) == 0 {
		return
	}
	m := rw.set.matcher()
	if m == nil {
		_, rw.err = rw.w.Write(rw.pending)
		rw.pending = rw.pending[:0]
		return
	}
	// Positions from limit on could start a form that is not complete yet.
	limit := len(rw.pending)
	if !final {
		limit -= m.maxLen - 1
		if limit <= 0 {
			return
		}
	}
	var next int
	rw.out, next = m.replace(rw.out[:0], rw.pending, limit)
	if _, err := rw.w.Write(rw.out); err != nil {
		rw.err = err
		return
	}
	rw.pending = rw.pending[:copy(rw.pending, rw.pending[next:])]
}

// Bytes returns b with every known secret replaced: b itself when it holds
// none (b is never written to).
func (s *Set) Bytes(b []byte) []byte {
	m := s.matcher()
	if m == nil || !m.contains(unsafeString(b)) {
		return b
	}
	out, _ := m.replace(nil, b, len(b))
	return out
}

// Contains reports whether text holds a form of a known secret.
func (s *Set) Contains(text string) bool {
	m := s.matcher()
	return m != nil && m.contains(text)
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
