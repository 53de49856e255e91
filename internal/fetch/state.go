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
	// Diagnostics are the previous run's, as read (informational only).
	Diagnostics *Diagnostics
	// MigratedFrom is the reference's last_fetch while the state has not
	// been run yet (zero otherwise): streams without a position start there.
	MigratedFrom time.Time

	records map[uint64]struct{} // record Id hashes of every stream's buckets
}

// Stream is one content type's position.
type Stream struct {
	// Cursor: every blob with contentCreated < Cursor that the API listed
	// when it was last asked has been delivered, except Partials.
	Cursor time.Time
	// From is where the next listing starts (Cursor minus the overlap,
	// never lower than what the dedupe set covers): every blob with
	// contentCreated >= From already delivered is in the dedupe set.
	From time.Time
	// Partials are blobs delivered only up to a record offset (max_fetch
	// cut inside a blob). They are not in the dedupe set.
	Partials []Partial
	// Unreadable are blobs that could not be decoded (malformed JSON that
	// survived the client's retries), with how many runs failed on them.
	// After GiveUpRuns runs a blob is skipped with a warning rather than
	// stalling its content type until it expires.
	Unreadable []Unreadable

	seen  *seen
	blobs map[uint64]struct{}
}

// Partial is a blob whose first Offset records were delivered.
type Partial struct {
	ContentID string    `json:"content_id"`
	Created   time.Time `json:"content_created"`
	Offset    int       `json:"offset"`
}

// Unreadable is a blob that failed to decode in Runs consecutive runs.
type Unreadable struct {
	ContentID string    `json:"content_id"`
	Created   time.Time `json:"content_created"`
	Runs      int       `json:"runs"`
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

// addRecord remembers a delivered record Id under the blob's minute.
func (st *State) addRecord(s *Stream, created time.Time, id string) {
	h := Hash(id)
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

// prune forgets what was delivered by blobs created before t.
func (st *State) prune(s *Stream, t time.Time) {
	blobs, records := s.seen.prune(t)
	for _, h := range blobs {
		delete(s.blobs, h)
	}
	for _, h := range records {
		delete(st.records, h)
	}
}

// Sizes reports how many blob and record hashes the state holds.
func (st *State) Sizes() (blobs, records int) {
	for _, s := range st.Streams {
		blobs += len(s.blobs)
	}
	return blobs, len(st.records)
}

// wire is the JSON shape of lastRun (see doc.go).
type wire struct {
	Version     int                    `json:"version"`
	Streams     map[string]*wireStream `json:"streams"`
	Migrated    bool                   `json:"migrated_from_last_fetch,omitempty"`
	Diagnostics *Diagnostics           `json:"diagnostics,omitempty"`
	// LastFetch is the reference integration's only key.
	LastFetch *string `json:"last_fetch,omitempty"`
}

type wireStream struct {
	Cursor     string       `json:"cursor"`
	From       string       `json:"from"`
	Partials   []Partial    `json:"partials,omitempty"`
	Unreadable []Unreadable `json:"unreadable,omitempty"`
	Seen       string       `json:"seen,omitempty"`
}

const wireTime = "2006-01-02T15:04:05Z"

// Encode returns the lastRun object. Diagnostics d (may be nil) are
// included for people and ignored when read back.
func (st *State) Encode(d *Diagnostics) (json.RawMessage, error) {
	w := wire{Version: Version, Streams: map[string]*wireStream{}, Migrated: st.Migrated, Diagnostics: d}
	for ct, s := range st.Streams {
		ws := &wireStream{Cursor: s.Cursor.UTC().Format(wireTime), From: s.From.UTC().Format(wireTime), Partials: s.Partials, Unreadable: s.Unreadable}
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
// reference kept no dedupe state); version 1 is read exactly. Anything else
// is an error, so the engine keeps the lastRun rather than it being lost.
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
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("lastRun does not have the expected shape: %v", err)
	}
	if _, ok := probe["version"]; !ok {
		if w.LastFetch == nil {
			return nil, fmt.Errorf("lastRun has neither \"version\" nor the reference integration's \"last_fetch\"; clear the instance's last run to start again from first_fetch_delta")
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
	if w.Version != Version {
		return nil, fmt.Errorf("lastRun has version %d, which this version of the integration does not understand (it writes version %d); upgrade the integration or clear the instance's last run", w.Version, Version)
	}
	st := NewState()
	st.Migrated = w.Migrated
	st.Diagnostics = w.Diagnostics
	cts := make([]string, 0, len(w.Streams))
	for ct := range w.Streams {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	for _, ct := range cts {
		ws := w.Streams[ct]
		if ws == nil {
			return nil, fmt.Errorf("lastRun stream %s is null", ct)
		}
		cur, err := time.Parse(time.RFC3339, ws.Cursor)
		if err != nil {
			return nil, fmt.Errorf("lastRun stream %s: cursor %q is not an RFC 3339 time", ct, ws.Cursor)
		}
		from, err := time.Parse(time.RFC3339, ws.From)
		if err != nil {
			return nil, fmt.Errorf("lastRun stream %s: from %q is not an RFC 3339 time", ct, ws.From)
		}
		cur, from = cur.UTC(), from.UTC()
		if !inWireRange(cur) || !inWireRange(from) {
			return nil, fmt.Errorf("lastRun stream %s: cursor %s or from %s is outside the years 2000-9999", ct, ws.Cursor, ws.From)
		}
		if from.After(cur) {
			return nil, fmt.Errorf("lastRun stream %s: from %s is after cursor %s", ct, ws.From, ws.Cursor)
		}
		s := newStream(cur.UTC(), from.UTC())
		for _, p := range ws.Partials {
			if p.ContentID == "" || p.Offset < 0 {
				return nil, fmt.Errorf("lastRun stream %s: a partial blob has no content_id or a negative offset", ct)
			}
			p.Created = p.Created.UTC()
			if !inWireRange(p.Created) {
				return nil, fmt.Errorf("lastRun stream %s: partial blob %s has content_created outside the years 2000-9999", ct, p.ContentID)
			}
			s.Partials = append(s.Partials, p)
		}
		for _, u := range ws.Unreadable {
			if u.ContentID == "" || u.Runs < 0 {
				return nil, fmt.Errorf("lastRun stream %s: an unreadable blob has no content_id or a negative run count", ct)
			}
			u.Created = u.Created.UTC()
			if !inWireRange(u.Created) {
				return nil, fmt.Errorf("lastRun stream %s: unreadable blob %s has content_created outside the years 2000-9999", ct, u.ContentID)
			}
			s.Unreadable = append(s.Unreadable, u)
		}
		if ws.Seen != "" {
			data, err := base64.StdEncoding.DecodeString(ws.Seen)
			if err != nil {
				return nil, fmt.Errorf("lastRun stream %s: seen is not base64: %v", ct, err)
			}
			sn, err := decodeSeen(data)
			if err != nil {
				return nil, fmt.Errorf("lastRun stream %s: %v", ct, err)
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
		st.Streams[ct] = s
	}
	return st, nil
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
