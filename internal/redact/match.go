package redact

import (
	"io"
	"slices"
	"strings"
	"unsafe"
)

// matcher finds the forms of the secrets in text, longest first at each
// position, with one table lookup per byte: a form is tried only where the
// text has its first two bytes.
type matcher struct {
	pair   [1 << 16]bool // the first two bytes of some form
	byPair map[uint16][]string
	maxLen int
}

func newMatcher(forms []string) *matcher {
	if len(forms) == 0 {
		return nil
	}
	m := &matcher{byPair: map[uint16][]string{}}
	for _, f := range forms {
		k := uint16(f[0])<<8 | uint16(f[1]) // forms have minLen ≥ 2 bytes
		m.pair[k] = true
		m.byPair[k] = append(m.byPair[k], f)
		m.maxLen = max(m.maxLen, len(f))
	}
	for k, fs := range m.byPair {
		// Longest first, so a secret containing another is replaced whole.
		slices.SortStableFunc(fs, func(a, b string) int { return len(b) - len(a) })
		m.byPair[k] = fs
	}
	return m
}

// at returns the length of the longest form at src[i:], or 0.
func (m *matcher) at(src []byte, i int) int {
	if i+1 >= len(src) || !m.pair[uint16(src[i])<<8|uint16(src[i+1])] {
		return 0
	}
	for _, f := range m.byPair[uint16(src[i])<<8|uint16(src[i+1])] {
		if len(src)-i >= len(f) && string(src[i:i+len(f)]) == f {
			return len(f)
		}
	}
	return 0
}

func (m *matcher) contains(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if m.pair[uint16(s[i])<<8|uint16(s[i+1])] {
			for _, f := range m.byPair[uint16(s[i])<<8|uint16(s[i+1])] {
				if strings.HasPrefix(s[i:], f) {
					return true
				}
			}
		}
	}
	return false
}

// replace appends src to dst with every form that starts before limit
// replaced by Placeholder, and returns the index of src where it stopped
// (limit, or past a form that started before limit).
func (m *matcher) replace(dst, src []byte, limit int) ([]byte, int) {
	run := 0
	i := 0
	for i < limit {
		if n := m.at(src, i); n > 0 {
			dst = append(dst, src[run:i]...)
			dst = append(dst, Placeholder...)
			i += n
			run = i
			continue
		}
		i++
	}
	if i > len(src) {
		i = len(src)
	}
	return append(dst, src[run:i]...), i
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
