package emulator

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secops-go/ms-management-activity/internal/catalog"
)

// The five content types of the Management Activity API, in the order
// subscriptions/list reports them.
var contentTypes = catalog.ContentTypes

// ContentTypes returns the API's five content types.
func ContentTypes() []string { return slices.Clone(contentTypes) }

// canonicalContentType maps a case-insensitive content type to its canonical
// spelling; ok is false for an unknown one (the API answers AF20020).
func canonicalContentType(ct string) (string, bool) {
	for _, c := range contentTypes {
		if strings.EqualFold(c, ct) {
			return c, true
		}
	}
	return "", false
}

// retention is how long a blob stays retrievable after it became available,
// and how far back content listings may start.
const retention = 7 * 24 * time.Hour

// feedState is the Management Activity API's state: tenants, subscriptions,
// blobs and faults. One mutex guards it all; blob bytes are immutable once
// added, so rendering and serving them happens outside the lock.
type feedState struct {
	mu      sync.Mutex
	tenants map[string]*tenant // by lower-cased tenant ID
	seq     uint64             // AddBlob sequence, makes content IDs unique
	genSeq  uint64             // Generate sequence, same reason

	pageSize   int
	pageEpoch  int // bumped by ExpireNextPages; tokens of older epochs are stale
	pagingLoop bool

	publisherLast    string
	publisherMissing int

	faults faultState
}

func (s *Server) initFeed() {
	s.feed.tenants = map[string]*tenant{}
	s.feed.pageSize = 200
}

// tenant is one tenant's subscriptions and blobs.
type tenant struct {
	id     string
	subs   map[string]*subscription // by canonical content type
	blobs  map[string]*blob         // by content ID
	byType map[string][]*blob       // by canonical content type, sorted by (created, id)
}

type subscription struct {
	status  string   // "enabled" or "disabled"
	webhook *webhook // nil when none
	byAdmin bool     // disabled by an admin: content answers AF20023
}

// webhook is a subscription's webhook as given to subscriptions/start. The
// emulator stores and echoes it but never calls it.
type webhook struct {
	Address    string  `json:"address"`
	AuthID     string  `json:"authId"`
	Expiration *string `json:"expiration"`
}

// blob is one content blob. Either data holds its bytes, or gen/natural say
// how to render them on demand (Generation.Lazy).
type blob struct {
	id          string
	contentType string
	created     time.Time // contentCreated, millisecond precision, UTC
	expired     bool      // MarkExpired; guarded by feedState.mu

	data    []byte            // exact bytes served; nil for lazy blobs
	records []json.RawMessage // AddBlob's records, for ground truth
	gen     *generation       // generated blobs
	pos     int               // position in gen.order (availability order)
}

// body returns the blob's exact bytes.
func (b *blob) body() []byte {
	if b.data != nil {
		return b.data
	}
	return b.gen.renderBlob(b.pos)
}

// refs returns the blob's records in order, with their IDs.
func (b *blob) refs() []RecordRef {
	if b.gen != nil {
		return b.gen.blobRefs(b)
	}
	out := make([]RecordRef, len(b.records))
	for i, raw := range b.records {
		out[i] = RecordRef{ID: recordID(raw), ContentType: b.contentType, ContentID: b.id, ContentCreated: b.created, Raw: raw}
	}
	return out
}

// ids returns the blob's record IDs (cheap for generated blobs: no rendering).
func (b *blob) ids() []string {
	if b.gen != nil {
		return b.gen.blobIDs(b.pos)
	}
	out := make([]string, len(b.records))
	for i, raw := range b.records {
		out[i] = recordID(raw)
	}
	return out
}

func recordID(raw json.RawMessage) string {
	var r struct{ Id string }
	_ = json.Unmarshal(raw, &r)
	return r.Id
}

func (b *blob) expiration() time.Time { return b.created.Add(retention) }

// tenantLocked returns (creating if needed) the tenant; tenants are implicit,
// so any tenant a token names exists. Call with f.mu held.
func (f *feedState) tenantLocked(id string) *tenant {
	key := strings.ToLower(id)
	t := f.tenants[key]
	if t == nil {
		t = &tenant{id: id, subs: map[string]*subscription{}, blobs: map[string]*blob{}, byType: map[string][]*blob{}}
		f.tenants[key] = t
	}
	return t
}

// insertLocked adds b to t keeping byType sorted. Call with f.mu held.
func (t *tenant) insertLocked(b *blob) {
	if _, dup := t.blobs[b.id]; dup {
		panic("emulator: duplicate content ID " + b.id)
	}
	t.blobs[b.id] = b
	list := t.byType[b.contentType]
	i, _ := slices.BinarySearchFunc(list, b, compareBlobs)
	t.byType[b.contentType] = slices.Insert(list, i, b)
}

// compareBlobs orders blobs as listings return them: contentCreated, then contentId.
func compareBlobs(a, b *blob) int {
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// makeContentID builds an opaque, URL-path-safe content ID shaped like
// "20261128101500000$9f3c0a7d2b1e4c55$audit_general": the creation time, a
// 64-bit discriminator and the content type. validContentID checks the shape
// so malformed IDs can answer AF20052.
func makeContentID(created time.Time, disc uint64, contentType string) string {
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], disc)
	return created.UTC().Format("20060102150405") + created.UTC().Format(".000")[1:] +
		"$" + hex.EncodeToString(d[:]) + "$" + strings.ToLower(strings.ReplaceAll(contentType, ".", "_"))
}

func validContentID(id string) bool {
	parts := strings.Split(id, "$")
	if len(parts) != 3 || len(parts[0]) != 17 || len(parts[1]) != 16 {
		return false
	}
	for _, c := range parts[0] {
		if c < '0' || c > '9' {
			return false
		}
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return false
	}
	for _, ct := range contentTypes {
		if parts[2] == strings.ToLower(strings.ReplaceAll(ct, ".", "_")) {
			return true
		}
	}
	return false
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// AddTenant makes a tenant known. Tenants are also created implicitly by
// Subscribe, AddBlob, Generate or any authenticated request, so this is only
// for readability.
func (s *Server) AddTenant(id string) {
	s.feed.mu.Lock()
	s.feed.tenantLocked(id)
	s.feed.mu.Unlock()
}

// Subscribe enables the tenant's subscription to contentType, as a successful
// subscriptions/start would. It panics on an unknown content type.
func (s *Server) Subscribe(tenantID, contentType string) {
	ct := mustContentType(contentType)
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	if sub := t.subs[ct]; sub != nil {
		sub.status, sub.byAdmin = "enabled", false
		return
	}
	t.subs[ct] = &subscription{status: "enabled"}
}

// disableByAdmin disables the subscription as a tenant admin would: content
// listings answer AF20023 until subscriptions/start is called again.
func (s *Server) disableByAdmin(tenantID, contentType string) {
	ct := mustContentType(contentType)
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	t.subs[ct] = &subscription{status: "disabled", byAdmin: true}
}

// subscriptionStatus returns "enabled", "disabled", or "" when the content
// type was never started for the tenant.
func (s *Server) subscriptionStatus(tenantID, contentType string) string {
	ct := mustContentType(contentType)
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if sub := s.feed.tenantLocked(tenantID).subs[ct]; sub != nil {
		return sub.status
	}
	return ""
}

func mustContentType(contentType string) string {
	ct, ok := canonicalContentType(contentType)
	if !ok {
		panic("emulator: unknown content type " + contentType)
	}
	return ct
}

// AddBlob adds a content blob holding records (served as one JSON array, the
// records' bytes kept exactly) that becomes available at created (its
// contentCreated; listings hide it while created is after the emulator's
// clock). It returns the blob's content ID. Safe to call while the server
// runs. It panics on an unknown content type.
func (s *Server) AddBlob(tenantID, contentType string, created time.Time, records ...json.RawMessage) (contentID string) {
	ct := mustContentType(contentType)
	created = created.UTC().Truncate(time.Millisecond)
	size := 2
	for _, r := range records {
		size += len(r) + 1
	}
	data := make([]byte, 0, size)
	data = append(data, '[')
	for i, r := range records {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, r...)
	}
	data = append(data, ']')
	b := &blob{contentType: ct, created: created, data: data, records: slices.Clone(records)}

	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.feed.seq++
	b.id = makeContentID(created, mix(hashString(strings.ToLower(tenantID)), 0xADDB10B, s.feed.seq), ct)
	s.feed.tenantLocked(tenantID).insertLocked(b)
	return b.id
}

// MarkExpired makes the blob answer AF20051 (content expired) from now on,
// whatever its age. It reports whether the content ID was found.
func (s *Server) MarkExpired(contentID string) bool {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	for _, t := range s.feed.tenants {
		if b := t.blobs[contentID]; b != nil {
			b.expired = true
			return true
		}
	}
	return false
}

// RecordRef is one record of the ground truth: its Id, its exact bytes and
// the first blob that delivered it.
type RecordRef struct {
	ID             string
	ContentType    string
	ContentID      string
	ContentCreated time.Time
	Raw            json.RawMessage
}

// Records returns every distinct record (by Id, first delivery wins) in the
// tenant's blobs of contentType ("" for all) whose contentCreated is in
// [createdFrom, createdTo), in listing order. It is the ground truth a
// lossless fetch must deliver for that availability window. Blobs marked
// expired or not yet available are included; filter on ContentCreated if
// that matters. Records without an Id are returned each time they occur.
func (s *Server) Records(tenantID, contentType string, createdFrom, createdTo time.Time) []RecordRef {
	blobs := s.blobsIn(tenantID, contentType, createdFrom, createdTo)
	seen := map[string]bool{}
	var out []RecordRef
	for _, b := range blobs {
		for _, r := range b.refs() {
			if r.ID != "" {
				if seen[r.ID] {
					continue
				}
				seen[r.ID] = true
			}
			out = append(out, r)
		}
	}
	return out
}

// allRecordIDs returns the sorted distinct record Ids of every blob the
// tenant has, of any content type and availability time.
func (s *Server) allRecordIDs(tenantID string) []string {
	blobs := s.blobsIn(tenantID, "", time.Time{}, time.Unix(1<<40, 0))
	seen := map[string]struct{}{}
	for _, b := range blobs {
		for _, id := range b.ids() {
			if id != "" {
				seen[id] = struct{}{}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// blobsIn snapshots the tenant's blobs of contentType ("" for all) created
// in [from, to), in listing order (content types in canonical order).
func (s *Server) blobsIn(tenantID, contentType string, from, to time.Time) []*blob {
	types := contentTypes
	if contentType != "" {
		types = []string{mustContentType(contentType)}
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	var out []*blob
	for _, ct := range types {
		for _, b := range t.byType[ct] {
			if !b.created.Before(from) && b.created.Before(to) {
				out = append(out, b)
			}
		}
	}
	return out
}
