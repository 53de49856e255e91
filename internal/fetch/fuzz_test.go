package fetch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

// FuzzLastRun feeds arbitrary bytes to the lastRun decoder. Properties: no
// panic; a decoded state encodes; the encoding decodes again (a lastRun this
// integration accepted once and then wrote back is never refused on the
// next run, which would stop fetching); and encoding is then a fixed point
// (same streams, cursors, partials and dedupe sets).
func FuzzLastRun(f *testing.F) {
	t0 := time.Date(2026, 11, 28, 11, 59, 0, 0, time.UTC)
	st := NewState()
	s := newStream(t0, t0.Add(-time.Hour))
	st.Streams["Audit.General"] = s
	s.addBlob("blob-1", t0.Add(-30*time.Minute))
	st.addRecord(s, t0.Add(-30*time.Minute), Hash("rec-1"))
	st.addRecord(s, t0.Add(-29*time.Minute), Hash("rec-2"))
	s.Partials = []Partial{{ContentID: "blob-2", Created: t0.Add(-10 * time.Minute), Offset: 500}}
	enc, err := st.Encode(&Diagnostics{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(enc))
	for _, raw := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `{"last_fetch":"2026-11-28T09:30:15"}`, `{"last_fetch":"2026-11-28T09:30:15.123456Z"}`,
		`{"last_fetch":null}`, `{"last_fetch":"yesterday"}`, `{"version":1}`, `{"version":1,"streams":null}`, `{"version":2,"streams":{}}`,
		`{"version":1,"streams":{"Audit.General":null}}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T09:30:15Z","from":"2026-11-28T09:30:15Z"}}}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T09:30:15Z","from":"2026-11-28T09:30:15Z","seen":"AQ=="}}}`,
		`{"version":1,"streams":{"x":{"cursor":"2026-11-28T09:30:15Z","from":"2026-11-28T09:30:15Z","partials":[{"content_id":"","offset":1}]}}}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T09:30:15+14:00","from":"0000-01-01T00:00:00+01:00"}}}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"9999-12-31T23:59:59-01:00","from":"9999-12-31T23:59:59Z"}}}`,
		`{"version":1,"streams":{"x":{"cursor":"2026-11-28T09:30:15Z","from":"2026-11-28T09:30:15Z","partials":[{"content_id":"b","content_created":"2026-11-28T09:30:15.5+01:00","offset":3}]}}}`,
		`{"version":1.0,"streams":{},"diagnostics":{"x":1}}`, `{"version":"1"}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T09:30:15Z","from":"2026-11-28T09:30:15Z","retry":[{"content_id":"b","content_uri":"https://x/b","content_created":"2026-11-28T09:30:15Z","first_failure":"2026-11-28T09:31:15Z","next_attempt":"2026-11-28T09:32:15Z","attempts":1,"last_error":"HTTP 500"}]}},"diagnostics":"anything"}`,
	} {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := Decode(raw)
		if err != nil || st == nil {
			return
		}
		if outsideWireYears(st) {
			t.Fatalf("a lastRun with a time outside years 0000-9999 in UTC was accepted: %q", raw)
		}
		enc1, err := st.Encode(nil)
		if err != nil {
			t.Fatalf("an accepted lastRun cannot be encoded: %v\ninput: %q", err, raw)
		}
		st2, err := Decode(enc1)
		if err != nil {
			t.Fatalf("the lastRun written for an accepted one is refused on the next run: %v\ninput:   %q\nwritten: %s", err, raw, enc1)
		}
		if st2 == nil {
			if len(st.Streams) > 0 {
				t.Fatalf("streams lost in the round trip: %s", enc1)
			}
			return
		}
		enc2, err := st2.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameLastRun(t, enc1, enc2) {
			t.Fatalf("encoding is not a fixed point:\nfirst:  %s\nsecond: %s", enc1, enc2)
		}
		for ct, s := range st.Streams {
			s2 := st2.Streams[ct]
			if s2 == nil || !s2.Cursor.Equal(s.Cursor.Truncate(time.Second)) && !s2.Cursor.Equal(s.Cursor) {
				t.Fatalf("stream %s cursor %v became %v", ct, s.Cursor, s2)
			}
			if s2.From.After(s2.Cursor) {
				t.Fatalf("stream %s from %v after cursor %v after the round trip", ct, s2.From, s2.Cursor)
			}
		}
	})
}

// sameLastRun compares two encoded lastRuns as JSON values, with the dedupe
// sets compared as decoded sets.
func sameLastRun(t *testing.T, a, b []byte) bool {
	t.Helper()
	var wa, wb wire
	if json.Unmarshal(a, &wa) != nil || json.Unmarshal(b, &wb) != nil {
		return false
	}
	if len(wa.Streams) != len(wb.Streams) {
		return false
	}
	for ct, sa := range wa.Streams {
		sb := wb.Streams[ct]
		if sb == nil || sa.Cursor != sb.Cursor || sa.From != sb.From || len(sa.Partials) != len(sb.Partials) {
			return false
		}
		for i := range sa.Partials {
			pa, pb := sa.Partials[i], sb.Partials[i]
			if pa.ContentID != pb.ContentID || !pa.Created.Equal(pb.Created) || pa.Offset != pb.Offset {
				return false
			}
		}
		if len(sa.Retry) != len(sb.Retry) {
			return false
		}
		for i := range sa.Retry {
			xa, xb := sa.Retry[i], sb.Retry[i]
			if xa.ContentID != xb.ContentID || xa.ContentURI != xb.ContentURI || !xa.Created.Equal(xb.Created) || xa.Attempts != xb.Attempts || xa.Offset != xb.Offset || xa.LastError != xb.LastError {
				return false
			}
		}
		if sa.Seen != sb.Seen {
			da, _ := base64.StdEncoding.DecodeString(sa.Seen)
			db, _ := base64.StdEncoding.DecodeString(sb.Seen)
			if !bytes.Equal(da, db) {
				return false
			}
		}
	}
	return true
}

// outsideWireYears reports whether a time of st leaves years 0–9999 once in
// UTC (RFC 3339 cannot write it).
func outsideWireYears(st *State) bool {
	out := func(t time.Time) bool { y := t.UTC().Year(); return y < 0 || y > 9999 }
	for _, s := range st.Streams {
		if out(s.Cursor) || out(s.From) {
			return true
		}
		for _, p := range s.Partials {
			if out(p.Created) {
				return true
			}
		}
		for _, x := range s.Retry {
			if out(x.Created) || out(x.FirstFailure) || out(x.NextAttempt) {
				return true
			}
		}
	}
	return false
}

// TestLastRunYearBounds: a lastRun whose times, converted to UTC, leave
// years 0000–9999 must be refused by Decode (or clamped), because Encode
// writes them in a form Decode refuses: the next fetch-incidents would fail
// on every run until someone clears the instance's last run.
// Found by FuzzLastRun.
func TestLastRunYearBounds(t *testing.T) {
	for _, raw := range []string{
		`{"version":1,"streams":{"Audit.General":{"cursor":"2026-11-28T09:30:15+14:00","from":"0000-01-01T00:00:00+01:00"}}}`,
		`{"version":1,"streams":{"Audit.General":{"cursor":"9999-12-31T23:59:59-01:00","from":"9999-12-31T23:59:59Z"}}}`,
	} {
		st, err := Decode(json.RawMessage(raw))
		if err != nil {
			continue // refused up front: fine
		}
		enc, err := st.Encode(nil)
		if err != nil {
			t.Errorf("%s: accepted, then cannot be encoded: %v", raw, err)
			continue
		}
		if _, err := Decode(enc); err != nil {
			t.Errorf("accepted %s\nbut wrote %s\nwhich the next run refuses: %v", raw, enc, err)
		}
	}
}
