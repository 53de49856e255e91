package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"unicode/utf8"

	xcontext "github.com/secops-go/ms-management-activity/context"
)

// WriteOutput writes out followed by a newline, byte for byte as a
// json.Encoder with SetEscapeHTML(false) would, but streamed through a
// small buffer: the encoder builds the whole document in memory first (for
// list-content's 100000 records, twice the output's size on top of the
// records), and it re-validates every json.RawMessage with its scanner.
//
// json.RawMessage values (records, context objects, lastRun) are written
// compacted but not validated: every one in an Output comes from the
// record decoder, which validates, or from encoding/json. Other values go
// through encoding/json one by one.
func WriteOutput(w io.Writer, out *Output) error {
	ow := &outWriter{w: bufio.NewWriterSize(w, 256<<10)}
	ow.output(out)
	if ow.err != nil {
		return ow.err
	}
	return ow.w.Flush()
}

type outWriter struct {
	w       *bufio.Writer
	err     error
	scratch []byte
}

func (o *outWriter) raw(b []byte) {
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
}

func (o *outWriter) str(s string) {
	if o.err == nil {
		_, o.err = o.w.WriteString(s)
	}
}

func (o *outWriter) output(out *Output) {
	o.str(`{"results":`)
	if out.Results == nil {
		o.str("null")
	} else {
		o.str("[")
		for i := range out.Results {
			if i > 0 {
				o.str(",")
			}
			o.entry(&out.Results[i])
		}
		o.str("]")
	}
	if out.Incidents != nil {
		o.str(`,"incidents":`)
		o.incidents(*out.Incidents)
	}
	if out.LastRun != nil {
		o.str(`,"lastRun":`)
		o.value(out.LastRun)
	}
	if out.IntegrationContext != nil {
		o.str(`,"integrationContext":`)
		o.value(out.IntegrationContext)
	}
	o.str("}\n")
}

func (o *outWriter) entry(e *xcontext.Entry) {
	o.scratch = append(o.scratch[:0], `{"Type":`...)
	o.scratch = appendInt(o.scratch, e.Type)
	o.scratch = append(o.scratch, `,"ContentsFormat":`...)
	o.scratch = appendJSONString(o.scratch, e.ContentsFormat)
	o.scratch = append(o.scratch, `,"Contents":`...)
	o.raw(o.scratch)
	o.value(e.Contents)
	if e.HumanReadable != "" {
		o.str(`,"HumanReadable":`)
		o.string(e.HumanReadable)
	}
	if e.ReadableContentsFormat != "" {
		o.scratch = append(o.scratch[:0], `,"ReadableContentsFormat":`...)
		o.scratch = appendJSONString(o.scratch, e.ReadableContentsFormat)
		o.raw(o.scratch)
	}
	if len(e.EntryContext) > 0 {
		o.str(`,"EntryContext":`)
		o.object(e.EntryContext)
	}
	o.str("}")
}

func (o *outWriter) object(m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o.str("{")
	for i, k := range keys {
		if i > 0 {
			o.str(",")
		}
		o.scratch = appendJSONString(o.scratch[:0], k)
		o.scratch = append(o.scratch, ':')
		o.raw(o.scratch)
		o.value(m[k])
	}
	o.str("}")
}

func (o *outWriter) value(v any) {
	switch v := v.(type) {
	case json.RawMessage:
		switch {
		case v == nil:
			o.str("null")
		case len(v) == 0 || (v[0] <= ' ' && len(bytes.TrimSpace(v)) == 0):
			o.fallback(v) // encoding/json's error
		default:
			o.compact(v)
		}
	case []json.RawMessage:
		if v == nil {
			o.str("null")
			return
		}
		o.str("[")
		for i, r := range v {
			if i > 0 {
				o.str(",")
			}
			o.value(r)
		}
		o.str("]")
	case string:
		o.string(v)
	case map[string]any:
		if v == nil {
			o.str("null")
			return
		}
		o.object(v)
	default:
		o.fallback(v)
	}
}

// fallback encodes v with encoding/json.
func (o *outWriter) fallback(v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if o.err == nil {
			o.err = err
		}
		return
	}
	o.raw(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func (o *outWriter) string(s string) {
	// Escape in pieces so a long string never needs a second copy.
	const piece = 64 << 10
	o.scratch = append(o.scratch[:0], '"')
	for len(s) > 0 {
		n := min(len(s), piece)
		// Cut on a rune boundary so a multi-byte rune is never split.
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		o.scratch = appendEscaped(o.scratch, s[:n])
		s = s[n:]
		o.raw(o.scratch)
		o.scratch = o.scratch[:0]
	}
	o.scratch = append(o.scratch, '"')
	o.raw(o.scratch)
}

func (o *outWriter) incidents(list []Incident) {
	if list == nil {
		o.str("null")
		return
	}
	o.str("[")
	for i := range list {
		in := &list[i]
		b := o.scratch[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, in.Name)
		b = append(b, `,"occurred":`...)
		b = appendJSONString(b, in.Occurred)
		b = append(b, `,"rawJSON":`...)
		b = appendJSONString(b, in.RawJSON)
		if in.Type != "" {
			b = append(b, `,"type":`...)
			b = appendJSONString(b, in.Type)
		}
		if in.DbotMirrorID != "" {
			b = append(b, `,"dbotMirrorId":`...)
			b = appendJSONString(b, in.DbotMirrorID)
		}
		b = append(b, '}')
		o.raw(b)
		o.scratch = b
	}
	o.str("]")
}

// compact writes a valid JSON value without the whitespace between its
// tokens, as json.Compact does (strings are copied as they are).
func (o *outWriter) compact(src []byte) {
	start, i, n := 0, 0, len(src)
	for i < n {
		switch c := src[i]; c {
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(src[j:], '"')
				if k < 0 {
					j = n
					break
				}
				j += k
				bs := 0
				for p := j - 1; src[p] == '\\'; p-- {
					bs++
				}
				j++
				if bs%2 == 0 {
					break
				}
			}
			i = j
		case ' ', '\t', '\n', '\r':
			o.raw(src[start:i])
			for i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
				i++
			}
			start = i
		default:
			i++
		}
	}
	o.raw(src[start:])
}

func appendInt(b []byte, n int) []byte {
	var tmp [20]byte
	i := len(tmp)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	return append(b, tmp[i:]...)
}

// appendJSONString appends s as a JSON string exactly as encoding/json does
// with HTML escaping off.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// plain[b] is true for the ASCII bytes that need no escaping.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendEscaped is encoding/json's appendString (escapeHTML false) without
// the quotes: invalid UTF-8 becomes \ufffd, U+2028 and U+2029 are escaped.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
