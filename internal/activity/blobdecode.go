package activity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The blob decoder: reads a content blob body in chunks, finds each
// record's end with a resumable boundary scan (linear whatever the read
// sizes) and hands the record to the scanner in record.go.

// DecodeBlob decodes a content blob body (a JSON array of records) as
// FetchContent does, calling fn for each record in order; a body larger
// than maxBytes (0: DefaultMaxBlobBytes) is a *ContentError. The record
// passed to fn is valid only during the call unless fn copies it.
func DecodeBlob(r io.Reader, maxBytes int64, fn func(*Record) error) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBlobBytes
	}
	d := newBlobDecoder(r, maxBytes, "(body)")
	var rec Record // one variable for every record: one allocation per blob
	for {
		var err error
		rec, err = d.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
}

// blobDecoder streams the records of one blob body (a JSON array of
// objects) with a bounded buffer: one record at a time is held besides the
// read-ahead chunk.
type blobDecoder struct {
	r       io.Reader
	id      string
	buf     []byte
	pos     int // next unread byte of buf[:end]
	end     int
	eof     bool
	total   int64
	max     int64
	state   int // 0: before '[', 1: expecting a value or ']', 2: expecting ',' or ']', 3: done
	records int
	// examined counts the bytes handed to the record parser (tests check it
	// stays linear in the body).
	examined int64
	// charge is told every byte read (nil: no budget).
	charge *charge
	// parts hold the beginning of a record larger than the buffer (see
	// fill); partsLen is their total length.
	parts    [][]byte
	partsLen int
	// bound finds where a record that did not fit the buffer ends, resuming
	// across refills, so the full parser runs on it once it is whole
	// instead of restarting from its first byte after every short read.
	bound boundary
}

// boundary is a resumable search for the end of one JSON object: it tracks
// nesting depth and string state only (the full parser validates once the
// object is complete). off is relative to the record's start, which may move
// when the buffer is compacted.
type boundary struct {
	active    bool
	off       int
	depth     int
	inStr     bool
	esc       bool
	exhausted bool // the parser disagreed with a claimed end: read on to EOF
}

// skipPlain returns the index of the first byte at or after i that ends
// or escapes a string ('"', '\\' or a control character), eight bytes at a
// time: this scan runs over every byte of a record that did not fit.
func skipPlain(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote := w ^ (lo * '"')
		bslash := w ^ (lo * '\\')
		// A byte is flagged when it is zero after the xor (the byte was
		// '"' or '\\') or below 0x20; bytes >= 0x80 never are.
		special := ((quote - lo) &^ quote) | ((bslash - lo) &^ bslash) | ((w - lo*0x20) &^ w)
		if special&hi != 0 {
			break
		}
	}
	for i < len(b) && plainStringByte[b[i]] {
		i++
	}
	return i
}

// structuralByte marks the bytes outside strings that boundary.scan acts on.
var structuralByte = func() (t [256]bool) {
	for _, c := range `"{}[]` {
		t[c] = true
	}
	return t
}()

// scan advances over b (the record from its first byte) and reports the
// length of the object once its closing brace is seen.
func (s *boundary) scan(b []byte) (int, bool) {
	i := s.off
	if s.esc { // the previous chunk ended on a backslash
		if i >= len(b) {
			return 0, false
		}
		s.esc = false
		i++
	}
	for i < len(b) {
		if s.inStr {
			i = skipPlain(b, i)
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"':
				s.inStr = false
				i++
			case '\\':
				if i+1 >= len(b) {
					s.esc = true
					i++
					continue
				}
				i += 2
			default: // a control character: invalid, the parser says so
				i++
			}
			continue
		}
		for i < len(b) && !structuralByte[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		i++
		switch c {
		case '"':
			s.inStr = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth == 0 && !s.exhausted {
				s.off = i
				return i, true
			}
		}
	}
	s.off = i
	return 0, false
}

const chunkSize = 64 << 10

func newBlobDecoder(r io.Reader, max int64, id string) *blobDecoder {
	return &blobDecoder{r: r, id: id, buf: make([]byte, chunkSize), max: max}
}

// fill reads more input, keeping buf[pos:end].
func (d *blobDecoder) fill() error {
	if d.eof {
		return nil
	}
	if d.pos > 0 {
		n := copy(d.buf, d.buf[d.pos:d.end])
		d.pos, d.end = 0, n
	}
	if d.end == len(d.buf) && d.bound.active {
		// A record larger than the buffer: keep what is read of it as a
		// part and read on into a new buffer (twice as large, so the
		// parts are few), instead of growing and copying the buffer.
		d.parts = append(d.parts, d.buf[:d.end])
		d.partsLen += d.end
		d.buf = make([]byte, 2*len(d.buf))
		d.pos, d.end = 0, 0
		d.bound.off = 0
	}
	if d.end == len(d.buf) {
		nb := make([]byte, 2*len(d.buf))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	n, err := d.r.Read(d.buf[d.end:])
	d.end += n
	d.total += int64(n)
	if d.total > d.max {
		return &ContentError{ContentID: d.id, Reason: tooLarge(d.max), TooLarge: true}
	}
	if cerr := d.charge.take(int64(n)); cerr != nil {
		return cerr
	}
	if err == io.EOF {
		d.eof = true
		return nil
	}
	if err != nil {
		return &readError{err}
	}
	return nil
}

func (d *blobDecoder) truncated(what string) error {
	return &ContentError{ContentID: d.id, Reason: fmt.Sprintf("the body ended %s after %d complete record(s) (truncated JSON)", what, d.records), Truncated: true}
}

// next returns the next record, or io.EOF after the closing ']'.
func (d *blobDecoder) next() (Record, error) {
	for {
		if d.bound.active {
			// Inside a record that did not fit: no token boundaries here.
			if rec, done, err := d.record(); done || err != nil {
				return rec, err
			}
			continue
		}
		d.pos = skipWS(d.buf[:d.end], d.pos)
		if d.pos >= d.end {
			if d.eof {
				switch d.state {
				case 0:
					return Record{}, d.truncated("before the opening '['")
				case 3:
					return Record{}, io.EOF
				}
				return Record{}, d.truncated("inside the array")
			}
			if err := d.fill(); err != nil {
				return Record{}, err
			}
			continue
		}
		c := d.buf[d.pos]
		switch d.state {
		case 0:
			if c != '[' {
				return Record{}, &ContentError{ContentID: d.id, Reason: fmt.Sprintf("the body is not a JSON array (it starts with %q)", c)}
			}
			d.pos++
			d.state = 1
			continue
		case 2:
			switch c {
			case ',':
				d.pos++
				d.state = 4 // a value must follow: "[{…},]" is invalid
				continue
			case ']':
				d.pos++
				d.state = 3
				continue
			}
			return Record{}, &ContentError{ContentID: d.id, Reason: fmt.Sprintf("invalid JSON after record %d: expected ',' or ']', found %q", d.records, c)}
		case 3:
			return Record{}, &ContentError{ContentID: d.id, Reason: fmt.Sprintf("unexpected data after the closing ']': %q", c)}
		case 1, 4:
			if c == ']' && d.state == 1 {
				d.pos++
				d.state = 3
				continue
			}
			if c != '{' {
				return Record{}, &ContentError{ContentID: d.id, Reason: fmt.Sprintf("record %d is not a JSON object", d.records+1)}
			}
			if rec, done, err := d.record(); done || err != nil {
				return rec, err
			}
			continue
		}
	}
}

// record decodes the record that starts at buf[pos] (or in parts): done is
// false when more input was read and the caller must call again.
func (d *blobDecoder) record() (rec Record, done bool, err error) {
	claimed := d.end - d.pos // at EOF: everything read
	if d.bound.active && !d.eof {
		// The record did not fit: parse it only once it is whole.
		e, whole := d.bound.scan(d.buf[d.pos:d.end])
		if !whole {
			if err := d.fill(); err != nil {
				return Record{}, false, err
			}
			return Record{}, false, nil
		}
		claimed = e
	}
	var spans [numFields]span
	var end int
	if len(d.parts) == 0 {
		end, err = parseObject(d.buf[:d.end], d.pos, &spans)
		d.examined += int64(end - d.pos)
	} else {
		// The record's parts and its end, in one slice the record
		// will own.
		raw := make([]byte, 0, d.partsLen+claimed)
		for _, p := range d.parts {
			raw = append(raw, p...)
		}
		raw = append(raw, d.buf[d.pos:d.pos+claimed]...)
		end, err = parseObject(raw, 0, &spans)
		d.examined += int64(len(raw))
		if err == nil {
			rec = recordOf(raw[:end:end], &spans)
			if end != len(raw) { // only for JSON the boundary scan misread
				rest := append(raw[end:len(raw):len(raw)], d.buf[d.pos+claimed:d.end]...)
				d.buf = append(make([]byte, 0, max(chunkSize, len(rest))), rest...)[:max(chunkSize, len(rest))]
				d.pos, d.end = 0, len(rest)
			} else {
				d.pos += claimed
			}
			d.parts, d.partsLen = nil, 0
		}
	}
	if errors.Is(err, errShort) {
		if d.eof {
			return Record{}, false, d.truncated("inside a record")
		}
		if d.bound.active {
			// Invalid JSON whose brackets balance early: stop
			// claiming ends and let the parser judge at EOF.
			d.bound.exhausted = true
		}
		d.bound.active = true
		if err := d.fill(); err != nil {
			return Record{}, false, err
		}
		return Record{}, false, nil
	}
	d.bound = boundary{}
	if err != nil {
		return Record{}, false, &ContentError{ContentID: d.id, Reason: fmt.Sprintf("record %d: %v", d.records+1, err)}
	}
	if rec.Raw == nil {
		rec = newRecord(d.buf[d.pos:end], &spans)
		d.pos = end
	}
	d.state = 2
	d.records++
	return rec, true, nil
}
