package fetch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Version is the lastRun format version this package writes.
const Version = 1

// referenceLayout is the reference integration's last_fetch format (naive UTC).
const referenceLayout = "2006-01-02T15:04:05"

// State is the fetch position of every content type plus the dedupe sets.
// The zero value is not usable; use NewState or Decode.
type State struct {
	Streams map[string]*Stream
	// Migrated is set when the state was converted from the reference
	// integration's {"last_fetch": ...}.
	Migrated bool
	// Diagnostics are the previous run's, as read, for people: nil when
	// absent or not of the shape written. A run never reads them.
	Diagnostics *Diagnostics
	// MigratedFrom is the reference's last_fetch while the state has not
	// been run yet (zero otherwise): streams without a position start there.
	MigratedFrom time.Time

	records map[uint64]struct{} // record hashes of every stream's buckets
}

// Stream is one content type's position.
type Stream struct {
	// Cursor: every blob with contentCreated < Cursor that the API listed
	// when it was last asked has been delivered, except Partials and Retry.
	Cursor time.Time
	// From is where the next listing starts (Cursor minus the overlap,
	// never lower than what the dedupe set covers): every blob with
	// contentCreated >= From already delivered is in the dedupe set.
	From time.Time
	// Partials are blobs delivered only up to a record offset (max_fetch
	// cut inside a blob). They are not in the dedupe set.
	Partials []Partial
	// Retry are blobs that failed to download or decode: later blobs are
	// delivered past them, and they are fetched again, each on its own
	// back-off, until they succeed or expire.
	Retry []*Retry

	seen  *seen
	blobs map[uint64]struct{}
}

// Partial is a blob whose first Offset records were delivered.
type Partial struct {
	ContentID string    `json:"content_id"`
	Created   time.Time `json:"content_created"`
	Offset    int       `json:"offset"`
}

// Retry is a blob that could not be fetched, kept to be fetched again
// (see retry.go).
type Retry struct {
	ContentID  string    `json:"content_id"`
	ContentURI string    `json:"content_uri"`
	Created    time.Time `json:"content_created"`
	// FirstFailure and NextAttempt are the API's times.
	FirstFailure time.Time `json:"first_failure"`
	NextAttempt  time.Time `json:"next_attempt"`
	Attempts     int       `json:"attempts"`
	// Offset is how many of its records were delivered (a max_fetch cut
	// while it was being retried).
	Offset    int    `json:"offset,omitempty"`
	LastError string `json:"last_error"`
	// HeldRecords is the base64 of the hashes of records delivered by
	// other blobs around this blob's contentCreated, kept after the dedupe
	// set let them go (same set coding as seen), so that its records that
	// were delivered already are not delivered again when it succeeds.
	HeldRecords string `json:"held_records,omitempty"`

	held []uint64
}

// NewState returns an empty state (a first run).
func NewState() *State {
	return &State{Streams: map[string]*Stream{}, records: map[uint64]struct{}{}}
}

func newStream(cursor, from time.Time) *Stream {
	return &Stream{Cursor: cursor, From: from, seen: newSeen(), blobs: map[uint64]struct{}{}}
}

// BlobDelivered reports whether the blob was fully delivered.
func (s *Stream) BlobDelivered(contentID string) bool {
	_, ok := s.blobs[Hash(contentID)]
	return ok
}

// RecordSeen reports whether a record with this Id was delivered by any
// content type within the dedupe horizon.
func (st *State) RecordSeen(id string) bool {
	_, ok := st.records[Hash(id)]
	return ok
}

func (st *State) recordSeen(h uint64) bool {
	_, ok := st.records[h]
	return ok
}

// addRecord remembers a delivered record's hash under the minute created.
func (st *State) addRecord(s *Stream, created time.Time, h uint64) {
	if _, ok := st.records[h]; ok {
		return
	}
	st.records[h] = struct{}{}
	b := s.seen.bucket(created)
	b.records = append(b.records, h)
}

// addBlob remembers a fully delivered blob.
func (s *Stream) addBlob(contentID string, created time.Time) {
	h := Hash(contentID)
	if _, ok := s.blobs[h]; ok {
		return
	}
	s.blobs[h] = struct{}{}
	b := s.seen.bucket(created)
	b.blobs = append(b.blobs, h)
}

// prune forgets what was delivered by blobs created before t. hold may
// keep the record hashes of a dropped bucket (for a blob of the retry set
// whose records may come again in it); it reports whether it did.
func (st *State) prune(s *Stream, t time.Time, hold func(minute int64, records []uint64) bool) {
	s.seen.prune(t, func(m int64, b *bucket) {
		for _, h := range b.blobs {
			delete(s.blobs, h)
		}
		if hold(m, b.records) {
			return
		}
		for _, h := range b.records {
			delete(st.records, h)
		}
	})
}

// Sizes reports how many blob and record hashes the state holds.
func (st *State) Sizes() (blobs, records int) {
	for _, s := range st.Streams {
		blobs += len(s.blobs)
	}
	return blobs, len(st.records)
}

// wire is the JSON shape of lastRun written (see doc.go).
type wire struct {
	Version     int                    `json:"version"`
	Streams     map[string]*wireStream `json:"streams"`
	Migrated    bool                   `json:"migrated_from_last_fetch,omitempty"`
	Diagnostics *Diagnostics           `json:"diagnostics,omitempty"`
}

// wireIn is the JSON shape of lastRun read: diagnostics are for people and
// not read back, whatever they hold; so is a former version's list of
// unreadable blobs (such a blob held its cursor, so it is met again).
type wireIn struct {
	Version  *int                     `json:"version"`
	Streams  map[string]*wireStreamIn `json:"streams"`
	Migrated bool                     `json:"migrated_from_last_fetch"`
	// LastFetch is the reference integration's only key.
	LastFetch *string `json:"last_fetch"`
}

type wireStream struct {
	Cursor   string    `json:"cursor"`
	From     string    `json:"from"`
	Partials []Partial `json:"partials,omitempty"`
	Retry    []*Retry  `json:"retry,omitempty"`
	Seen     string    `json:"seen,omitempty"`
}

type wireStreamIn struct {
	Cursor   string    `json:"cursor"`
	From     string    `json:"from"`
	Partials []Partial `json:"partials"`
	Retry    []*Retry  `json:"retry"`
	Seen     string    `json:"seen"`
}

const wireTime = "2006-01-02T15:04:05Z"

// Encode returns the lastRun object. Diagnostics d (may be nil) are
// included for people and ignored when read back.
func (st *State) Encode(d *Diagnostics) (json.RawMessage, error) {
	if len(st.Streams) == 0 {
		// No position yet: a first run, or a migrated one not run yet.
		if !st.MigratedFrom.IsZero() {
			return json.Marshal(map[string]string{"last_fetch": st.MigratedFrom.UTC().Format(referenceLayout)})
		}
		return json.RawMessage(`{}`), nil
	}
	w := wire{Version: Version, Streams: map[string]*wireStream{}, Migrated: st.Migrated, Diagnostics: d}
	for ct, s := range st.Streams {
		for _, x := range s.Retry {
			x.HeldRecords = ""
			if len(x.held) > 0 {
				x.HeldRecords = base64.StdEncoding.EncodeToString(appendSet(nil, x.held))
			}
		}
		ws := &wireStream{Cursor: s.Cursor.UTC().Format(wireTime), From: s.From.UTC().Format(wireTime), Partials: s.Partials, Retry: s.Retry}
		if enc := s.seen.encode(); len(enc) > 0 {
			ws.Seen = base64.StdEncoding.EncodeToString(enc)
		}
		w.Streams[ct] = ws
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes())), nil
}

// Decode reads a lastRun: empty, null or {} is a first run (nil, nil); the
// reference integration's {"last_fetch": "YYYY-MM-DDTHH:MM:SS"} is migrated
// (every content type continues from that time, without overlap, since the
// reference kept no dedupe state); version 1 is read exactly, diagnostics
// aside. Anything else is an error, so the engine keeps the lastRun rather
// than it being lost, and the message says how to start over.
func Decode(raw json.RawMessage) (*State, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("lastRun is not a JSON object: %v", err)
	}
	if len(probe) == 0 {
		return nil, nil
	}
	// Only the members read back are decoded: diagnostics may hold
	// anything (they are kept for display when they have their shape).
	var diag *Diagnostics
	if d, ok := probe["diagnostics"]; ok {
		if json.Unmarshal(d, &diag) != nil {
			diag = nil
		}
		delete(probe, "diagnostics")
	}
	kept, _ := json.Marshal(probe)
	var w wireIn
	if err := json.Unmarshal(kept, &w); err != nil {
		return nil, fmt.Errorf("lastRun does not have the expected shape: %v; %s", err, startOver)
	}
	if w.Version == nil {
		if w.LastFetch == nil {
			return nil, fmt.Errorf("lastRun has neither \"version\" nor the reference integration's \"last_fetch\"; %s", startOver)
		}
		t, err := parseReferenceTime(*w.LastFetch)
		if err != nil {
			return nil, err
		}
		// Content types are not known here; Run starts each stream at t.
		st := NewState()
		st.Migrated = true
		st.MigratedFrom = t
		return st, nil
	}
	if *w.Version != Version {
		return nil, fmt.Errorf("lastRun has version %d, which this version of the integration does not understand (it writes version %d); upgrade the integration, or %s", *w.Version, Version, startOver)
	}
	if len(w.Streams) == 0 {
		// A lastRun this integration wrote always has a position per
		// content type: without them it must not pass for a first run,
		// which would silently restart first_fetch_delta back.
		return nil, fmt.Errorf("lastRun has version %d but no fetch positions (\"streams\" is missing or empty), so where fetching stopped is unknown; %s", Version, startOver)
	}
	st := NewState()
	st.Migrated = w.Migrated
	st.Diagnostics = diag
	cts := make([]string, 0, len(w.Streams))
	for ct := range w.Streams {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	retries := 0
	for _, ct := range cts {
		s, err := decodeStream(st, ct, w.Streams[ct])
		if err != nil {
			return nil, fmt.Errorf("lastRun stream %s: %v; %s", ct, err, startOver)
		}
		retries += len(s.Retry)
		st.Streams[ct] = s
	}
	if retries > MaxRetryBlobs {
		return nil, fmt.Errorf("lastRun holds %d blobs to retry, more than the %d this integration keeps; %s", retries, MaxRetryBlobs, startOver)
	}
	return st, nil
}

// startOver says how to recover from a lastRun that cannot be read.
const startOver = "to start over from first_fetch_delta, reset the instance's last run (in the instance settings, \"Reset the last run timestamp\")"

func decodeStream(st *State, ct string, ws *wireStreamIn) (*Stream, error) {
	if ws == nil {
		return nil, fmt.Errorf("it is null")
	}
	cur, err := time.Parse(time.RFC3339, ws.Cursor)
	if err != nil {
		return nil, fmt.Errorf("cursor %q is not an RFC 3339 time", ws.Cursor)
	}
	from, err := time.Parse(time.RFC3339, ws.From)
	if err != nil {
		return nil, fmt.Errorf("from %q is not an RFC 3339 time", ws.From)
	}
	cur, from = cur.UTC(), from.UTC()
	if !inWireRange(cur) || !inWireRange(from) {
		return nil, fmt.Errorf("cursor %s or from %s is outside the years 2000-9999", ws.Cursor, ws.From)
	}
	if from.After(cur) {
		return nil, fmt.Errorf("from %s is after cursor %s", ws.From, ws.Cursor)
	}
	s := newStream(cur, from)
	for _, p := range ws.Partials {
		if p.ContentID == "" || p.Offset < 0 {
			return nil, fmt.Errorf("a partial blob has no content_id or a negative offset")
		}
		p.Created = p.Created.UTC()
		if !inWireRange(p.Created) {
			return nil, fmt.Errorf("partial blob %s has content_created outside the years 2000-9999", p.ContentID)
		}
		s.Partials = append(s.Partials, p)
	}
	ids := map[string]bool{}
	for _, r := range ws.Retry {
		if r == nil || r.ContentID == "" || r.ContentURI == "" || r.Offset < 0 || r.Attempts < 0 || ids[r.ContentID] {
			return nil, fmt.Errorf("a blob to retry has no content_id or content_uri, a negative offset or attempt count, or is listed twice")
		}
		ids[r.ContentID] = true
		r.Created, r.FirstFailure, r.NextAttempt = r.Created.UTC(), r.FirstFailure.UTC(), r.NextAttempt.UTC()
		if !inWireRange(r.Created) || !inWireRange(r.FirstFailure) || !inWireRange(r.NextAttempt) {
			return nil, fmt.Errorf("blob to retry %s has a time outside the years 2000-9999", r.ContentID)
		}
		if len(r.LastError) > maxRetryError {
			r.LastError = r.LastError[:maxRetryError]
		}
		if r.HeldRecords != "" {
			data, err := base64.StdEncoding.DecodeString(r.HeldRecords)
			if err != nil {
				return nil, fmt.Errorf("blob to retry %s: held_records is not base64: %v", r.ContentID, err)
			}
			br := &byteReader{b: data}
			held, err := br.set()
			if err != nil || len(br.b) != 0 {
				return nil, fmt.Errorf("blob to retry %s: held_records: %v", r.ContentID, errCorrupt)
			}
			r.held = held
			for _, h := range held {
				st.records[h] = struct{}{}
			}
		}
		s.Retry = append(s.Retry, r)
	}
	if ws.Seen != "" {
		data, err := base64.StdEncoding.DecodeString(ws.Seen)
		if err != nil {
			return nil, fmt.Errorf("seen is not base64: %v", err)
		}
		sn, err := decodeSeen(data)
		if err != nil {
			return nil, err
		}
		s.seen = sn
		for _, b := range sn.buckets {
			for _, h := range b.blobs {
				s.blobs[h] = struct{}{}
			}
			for _, h := range b.records {
				st.records[h] = struct{}{}
			}
		}
	}
	return s, nil
}

// inWireRange keeps times to years Encode can write back (RFC 3339 in UTC)
// and that can be a fetch position at all.
func inWireRange(t time.Time) bool { return t.Year() >= 2000 && t.Year() <= 9999 }

func parseReferenceTime(s string) (time.Time, error) {
	for _, layout := range []string{referenceLayout, "2006-01-02T15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil && inWireRange(t.UTC()) {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("lastRun's last_fetch %q is not a time like 2023-04-02T14:22:49", s)
}
