package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSubscriptionsLifecycle(t *testing.T) {
	f := newFeedFixture(t)
	if r := f.get("subscriptions/list"); r.status != 200 || string(r.body) != "[]" {
		t.Fatalf("empty list: %d %s", r.status, r.body)
	}
	r := f.post("subscriptions/start?contentType=audit.general") // case-insensitive
	expectFeedOK(t, r)
	var sub map[string]any
	if err := json.Unmarshal(r.body, &sub); err != nil {
		t.Fatal(err)
	}
	if sub["contentType"] != "Audit.General" || sub["status"] != "enabled" || sub["webhook"] != nil {
		t.Fatalf("start body: %s", r.body)
	}
	if _, ok := sub["webhook"]; !ok {
		t.Fatalf("webhook key missing: %s", r.body)
	}
	expectFeedAF(t, f.post("subscriptions/start?contentType=Audit.General"), 400, "AF20024")
	if !strings.Contains(string(f.post("subscriptions/start?contentType=Audit.General").body), "The subscription is already enabled. No property change.") {
		t.Fatal("AF20024 message")
	}
	expectFeedOK(t, f.post("subscriptions/start?contentType=DLP.All"))

	r = f.post("subscriptions/stop?contentType=Audit.General")
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("stop: %d %q", r.status, r.body)
	}
	r = f.get("subscriptions/list")
	want := `[{"contentType":"Audit.General","status":"disabled","webhook":null},{"contentType":"DLP.All","status":"enabled","webhook":null}]`
	if string(r.body) != want {
		t.Fatalf("list:\n got %s\nwant %s", r.body, want)
	}
	expectFeedOK(t, f.post("subscriptions/start?contentType=Audit.General")) // re-enable
	if got := f.s.subscriptionStatus(feedTenantA, "Audit.General"); got != "enabled" {
		t.Fatalf("status %q", got)
	}

	expectFeedAF(t, f.post("subscriptions/start?contentType=Audit.Bogus"), 400, "AF20020")
	expectFeedAF(t, f.post("subscriptions/start"), 400, "AF20001")
	expectFeedAF(t, f.post("subscriptions/stop?contentType=Audit.Exchange"), 400, "AF20022")

	for name, n := range map[string]int{"subscriptions/start": 7, "subscriptions/stop": 2, "subscriptions/list": 2} {
		if got := f.s.Count(name); got != n {
			t.Errorf("Count(%s) = %d, want %d", name, got, n)
		}
	}
}

func TestStartWithWebhook(t *testing.T) {
	f := newFeedFixture(t)
	req, _ := http.NewRequest("POST", f.feedURL(feedTenantA, "subscriptions/start?contentType=Audit.Exchange"),
		strings.NewReader(`{"webhook":{"address":"https://hook.example/x","authId":"o365","expiration":""}}`))
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	r := f.get("subscriptions/list")
	if !strings.Contains(string(r.body), `"address":"https://hook.example/x"`) {
		t.Fatalf("webhook not listed: %s", r.body)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFeedFixture(t)
	list := f.feedURL(feedTenantA, "subscriptions/list")
	if r := f.doToken("GET", list, ""); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := f.doToken("GET", list, "not.a.token"); r.status != 401 {
		t.Fatalf("forged token: %d", r.status)
	}
	short, _ := f.s.IssueToken(feedTenantA, time.Minute)
	expectFeedOK(t, f.doToken("GET", list, short))
	f.clk.Advance(2 * time.Minute)
	if r := f.doToken("GET", list, short); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
	other, _ := f.s.IssueToken(feedTenantB, time.Hour)
	expectFeedAF(t, f.doToken("GET", list, other), 401, "AF20010")
	// The tenant comparison ignores GUID case.
	expectFeedOK(t, f.do("GET", f.feedURL(strings.ToUpper(feedTenantA), "subscriptions/list")))
	// Every endpoint authenticates, blob GETs included.
	id := f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-time.Hour), feedRecord("a", ""))
	if r := f.doToken("GET", f.feedURL(feedTenantA, "audit/"+id), ""); r.status != 401 {
		t.Fatalf("blob without token: %d", r.status)
	}
}

func TestPublisherIdentifierTracking(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	id := f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-time.Hour), feedRecord("a", ""))
	f.get("subscriptions/content?contentType=Audit.General")
	f.get("audit/" + id)
	if n := f.s.MissingPublisherIdentifier(); n != 0 {
		t.Fatalf("missing = %d", n)
	}
	if got := f.s.LastPublisherIdentifier(); got != feedPublisher {
		t.Fatalf("last = %q", got)
	}
	f.do("GET", f.s.BaseURL()+feedTenantA+"/activity/feed/audit/"+id)
	f.do("GET", f.s.BaseURL()+feedTenantA+"/activity/feed/subscriptions/list?publisheridentifier=abc") // any case
	if n := f.s.MissingPublisherIdentifier(); n != 1 {
		t.Fatalf("missing = %d, want 1", n)
	}
	if got := f.s.LastPublisherIdentifier(); got != "abc" {
		t.Fatalf("last = %q", got)
	}
}

func TestContentRules(t *testing.T) {
	f := newFeedFixture(t)
	expectFeedAF(t, f.get("subscriptions/content?contentType=Audit.Exchange"), 400, "AF20022")
	expectFeedAF(t, f.get("subscriptions/content?contentType=Audit.Nope"), 400, "AF20020")
	f.s.Subscribe(feedTenantA, "Audit.Exchange")
	expectFeedOK(t, f.get("subscriptions/content?contentType=AUDIT.EXCHANGE"))
	f.post("subscriptions/stop?contentType=Audit.Exchange")
	r := f.get("subscriptions/content?contentType=Audit.Exchange")
	expectFeedAF(t, r, 400, "AF20022")
	if !strings.Contains(string(r.body), "No subscription found for the specified content type") {
		t.Fatalf("AF20022 message: %s", r.body)
	}
	f.s.Subscribe(feedTenantA, "Audit.Exchange")
	f.s.disableByAdmin(feedTenantA, "Audit.Exchange")
	expectFeedAF(t, f.get("subscriptions/content?contentType=Audit.Exchange"), 400, "AF20023")
	expectFeedOK(t, f.post("subscriptions/start?contentType=Audit.Exchange"))

	cases := []struct {
		query string
		code  string // "" = OK
	}{
		{"startTime=2026-11-28T00:00", "AF20030"},
		{"endTime=2026-11-28T00:00", "AF20030"},
		{"startTime=2026-11-27&endTime=2026-11-28", ""},
		{"startTime=2026-11-27T00:00&endTime=2026-11-28T00:00", ""},
		{"startTime=2026-11-27T00:00:00&endTime=2026-11-28T00:00:00", ""},
		{"startTime=2026-11-27T00:00:00.000Z&endTime=2026-11-28T00:00:00.000Z", ""},
		{"startTime=2026-11-27T00:00:00Z&endTime=2026-11-27T00:00:01Z", ""},
		{"startTime=2026-11-27T00:00&endTime=2026-11-28T00:01", "AF20055"}, // > 24 h
		{"startTime=2026-11-21T11:59&endTime=2026-11-22T00:00", "AF20055"}, // start > 7 d ago
		{"startTime=2026-11-21T12:00&endTime=2026-11-22T00:00", ""},        // exactly 7 d ago
		{"startTime=2026-11-28T00:00&endTime=2026-11-28T00:00", "AF20055"}, // start = end
		{"startTime=2026-11-28T01:00&endTime=2026-11-28T00:00", "AF20055"}, // start > end
		{"startTime=2026-11-28T20:00&endTime=2026-11-29T06:00", ""},        // future is fine
		{"startTime=yesterday&endTime=2026-11-28", "AF20002"},
	}
	for _, c := range cases {
		r := f.get("subscriptions/content?contentType=Audit.Exchange&" + c.query)
		if c.code == "" {
			if r.status != 200 {
				t.Errorf("%s: got %d %s", c.query, r.status, r.body)
			}
		} else if r.status != 400 || r.afCode() != c.code {
			t.Errorf("%s: got %d %s, want %s", c.query, r.status, r.body, c.code)
		}
	}
}

func TestContentListing(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.SharePoint")
	start := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i, off := range []time.Duration{-time.Millisecond, 0, time.Hour, time.Hour, 2 * time.Hour, 24 * time.Hour} {
		ids = append(ids, f.s.AddBlob(feedTenantA, "Audit.SharePoint", start.Add(off), feedRecord(fmt.Sprint("r", i), "")))
	}
	f.s.AddBlob(feedTenantA, "Audit.Exchange", start.Add(time.Hour), feedRecord("x", "")) // other type
	future := f.s.AddBlob(feedTenantA, "Audit.SharePoint", feedT0.Add(time.Minute), feedRecord("later", ""))

	items := decodeFeedItems(t, f.get("subscriptions/content?contentType=Audit.SharePoint&startTime=2026-11-28T00:00&endTime=2026-11-29T00:00"))
	var got []string
	for _, it := range items {
		got = append(got, it.ContentID)
	}
	// Start inclusive, end exclusive, sorted by contentCreated then ID,
	// nothing after the emulator's clock.
	want := slices.Clone(ids[1:5])
	slices.SortStableFunc(want[1:3], strings.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("ids:\n got %v\nwant %v", got, want)
	}
	it := items[1]
	if it.ContentCreated != "2026-11-28T01:00:00.000Z" || it.ContentExpiration != "2026-12-05T01:00:00.000Z" || it.ContentType != "Audit.SharePoint" {
		t.Fatalf("feedItem: %+v", it)
	}
	if it.ContentURI != f.s.BaseURL()+feedTenantA+"/activity/feed/audit/"+it.ContentID {
		t.Fatalf("contentUri %s", it.ContentURI)
	}
	// Omitted window = last 24 h.
	items = decodeFeedItems(t, f.get("subscriptions/content?contentType=Audit.SharePoint"))
	if len(items) != 5 {
		t.Fatalf("default window: %d items", len(items))
	}
	// The future blob appears once the clock passes its contentCreated (the
	// default window's end is exclusive, so go one more minute).
	f.clk.Advance(2 * time.Minute)
	items = decodeFeedItems(t, f.get("subscriptions/content?contentType=Audit.SharePoint"))
	if len(items) != 6 || items[5].ContentID != future {
		t.Fatalf("after advance: %+v", items)
	}
	// An empty listing is [], not null.
	if r := f.get("subscriptions/content?contentType=Audit.SharePoint&startTime=2026-11-27T00:00&endTime=2026-11-27T01:00"); string(r.body) != "[]" {
		t.Fatalf("empty: %s", r.body)
	}
}

func TestPaging(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	f.s.SetPageSize(10)
	base := feedT0.Add(-20 * time.Hour)
	for i := range 25 {
		f.s.AddBlob(feedTenantA, "Audit.General", base.Add(time.Duration(i/2)*time.Minute), feedRecord(fmt.Sprint(i), ""))
	}
	const rel = "subscriptions/content?contentType=Audit.General&startTime=2026-11-27T12:00&endTime=2026-11-28T12:00"
	items, pages := f.listAll(rel)
	if len(items) != 25 || pages != 3 {
		t.Fatalf("%d items in %d pages", len(items), pages)
	}
	if !slices.IsSortedFunc(items, func(a, b feedItem) int {
		return strings.Compare(a.ContentCreated+a.ContentID, b.ContentCreated+b.ContentID)
	}) {
		t.Fatal("not sorted")
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.ContentID] {
			t.Fatalf("duplicate %s", it.ContentID)
		}
		seen[it.ContentID] = true
	}

	first := f.get(rel)
	next := first.header.Get("NextPageUri")
	if !strings.HasPrefix(next, f.s.BaseURL()+feedTenantA+"/activity/feed/subscriptions/content?") || !strings.Contains(next, "nextPage=") {
		t.Fatalf("NextPageUri %q", next)
	}
	if strings.Contains(next, "PublisherIdentifier") {
		t.Fatal("NextPageUri should drop PublisherIdentifier, like the real API")
	}
	// On the wire the header is spelled NextPageUri (Go's client
	// canonicalizes it on receipt, so look at the handler's output).
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", f.feedURL(feedTenantA, rel), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	f.s.mux.ServeHTTP(rec, req)
	//lint:ignore SA1008 the raw, non-canonical spelling on the wire is what is checked
	if _, ok := rec.Header()["NextPageUri"]; !ok {
		t.Fatalf("header sent as %v, want the API's spelling NextPageUri", rec.Header())
	}
	// A page without PublisherIdentifier is served but counted.
	before := f.s.MissingPublisherIdentifier()
	f.do("GET", next)
	if f.s.MissingPublisherIdentifier() != before+1 {
		t.Fatal("missing PublisherIdentifier not counted")
	}

	// A blob added mid-walk after the cursor still shows on a later page.
	f.s.AddBlob(feedTenantA, "Audit.General", base.Add(time.Hour), feedRecord("late", ""))
	r2 := f.do("GET", next+"&PublisherIdentifier="+feedPublisher)
	r3 := f.do("GET", r2.header.Get("NextPageUri"))
	if n := len(decodeFeedItems(t, r2)) + len(decodeFeedItems(t, r3)); n != 16 {
		t.Fatalf("pages 2+3 hold %d items, want 16", n)
	}

	// Stale and forged tokens.
	tampered := strings.Replace(next, "nextPage=", "nextPage=x", 1)
	expectFeedAF(t, f.do("GET", tampered), 400, "AF20031")
	expectFeedAF(t, f.get(rel+"&nextPage=garbage"), 400, "AF20031")
	otherWindow := strings.Replace(next, "startTime=2026-11-27T12%3A00%3A00.000Z", "startTime=2026-11-27T13%3A00%3A00.000Z", 1)
	if otherWindow == next {
		t.Fatalf("could not rewrite window in %s", next)
	}
	expectFeedAF(t, f.do("GET", otherWindow), 400, "AF20031")
	f.s.ExpireNextPages()
	expectFeedAF(t, f.do("GET", next), 400, "AF20031")
	// The clock moving on makes an old window's pages fail the 7-day rule.
	first = f.get(rel)
	f.clk.Advance(7 * 24 * time.Hour)
	expectFeedAF(t, f.do("GET", first.header.Get("NextPageUri")), 400, "AF20055")
}

func TestPagingLoopFault(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	f.s.SetPageSize(2)
	for i := range 3 {
		f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-time.Duration(i+1)*time.Hour), feedRecord(fmt.Sprint(i), ""))
	}
	f.s.SetPagingLoop(true)
	r := f.get("subscriptions/content?contentType=Audit.General")
	var seen []string
	for range 6 {
		for _, it := range decodeFeedItems(t, r) {
			seen = append(seen, it.ContentID)
		}
		next := r.header.Get("NextPageUri")
		if next == "" {
			t.Fatal("loop ended")
		}
		r = f.do("GET", next)
	}
	if len(seen) != 9 { // pages of 2,1,2,1,2,1
		t.Fatalf("saw %d items", len(seen))
	}
	if seen[0] != seen[3] {
		t.Fatal("loop does not lead back to the first page")
	}
	f.s.SetPagingLoop(false)
	if _, pages := f.listAll("subscriptions/content?contentType=Audit.General"); pages != 2 {
		t.Fatalf("pages %d", pages)
	}
}

func TestBlobs(t *testing.T) {
	f := newFeedFixture(t)
	recs := []json.RawMessage{feedRecord("a", `,"Extra":{"n":[1,2]}`), json.RawMessage(`{"Id":"b",  "odd spacing" : true}`)}
	id := f.s.AddBlob(feedTenantA, "Audit.SharePoint", feedT0.Add(-time.Hour), recs...)
	r := f.get("audit/" + id)
	expectFeedOK(t, r)
	want := "[" + string(recs[0]) + "," + string(recs[1]) + "]"
	if string(r.body) != want {
		t.Fatalf("blob bytes:\n got %s\nwant %s", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	if got := f.s.Count("blob"); got != 1 {
		t.Fatalf("blob count %d", got)
	}
	// Unknown but well-formed, malformed, other tenant's, not yet available.
	bogus := strings.Replace(id, id[18:34], "0123456789abcdef", 1)
	expectFeedAF(t, f.get("audit/"+bogus), 404, "AF20050")
	expectFeedAF(t, f.get("audit/not-an-id"), 400, "AF20052")
	other := f.s.AddBlob(feedTenantB, "Audit.SharePoint", feedT0.Add(-time.Hour), feedRecord("c", ""))
	expectFeedAF(t, f.get("audit/"+other), 404, "AF20050")
	future := f.s.AddBlob(feedTenantA, "Audit.SharePoint", feedT0.Add(time.Hour), feedRecord("d", ""))
	expectFeedAF(t, f.get("audit/"+future), 404, "AF20050")

	// Expiry: marked, or 7 days after contentCreated.
	exp := f.s.AddBlob(feedTenantA, "DLP.All", feedT0.Add(-time.Minute), feedRecord("e", ""))
	if !f.s.MarkExpired(exp) || f.s.MarkExpired("nope") {
		t.Fatal("MarkExpired result")
	}
	expectFeedAF(t, f.get("audit/"+exp), 400, "AF20051")
	f.clk.Advance(7*24*time.Hour - time.Hour - time.Millisecond)
	expectFeedOK(t, f.get("audit/"+id))
	f.clk.Advance(time.Millisecond)
	expectFeedAF(t, f.get("audit/"+id), 400, "AF20051")

	// AddBlob with no records serves an empty array.
	empty := f.s.AddBlob(feedTenantA, "Audit.General", f.s.Now())
	if r := f.get("audit/" + empty); string(r.body) != "[]" {
		t.Fatalf("empty blob %s", r.body)
	}
}

func TestGroundTruthForHandBuiltBlobs(t *testing.T) {
	f := newFeedFixture(t)
	c1 := f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-3*time.Hour), feedRecord("a", ""), feedRecord("b", ""))
	f.s.AddBlob(feedTenantA, "Audit.General", feedT0.Add(-2*time.Hour), feedRecord("b", ""), feedRecord("c", ""))
	f.s.AddBlob(feedTenantA, "Audit.Exchange", feedT0.Add(-time.Hour), feedRecord("d", ""))
	refs := f.s.Records(feedTenantA, "Audit.General", feedT0.Add(-24*time.Hour), feedT0)
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("ids %v", ids)
	}
	if refs[1].ContentID != c1 || !bytes.Equal(refs[1].Raw, feedRecord("b", "")) {
		t.Fatalf("first delivery wins: %+v", refs[1])
	}
	if got := f.s.Records(feedTenantA, "", feedT0.Add(-2*time.Hour), feedT0); len(got) != 3 {
		t.Fatalf("all types from -2h: %d", len(got))
	}
	if got := f.s.allRecordIDs(feedTenantA); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("allRecordIDs %v", got)
	}
}
