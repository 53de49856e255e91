package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
)

const (
	feedTenantA   = "11111111-1111-4111-8111-111111111111"
	feedTenantB   = "22222222-2222-4222-8222-222222222222"
	feedPublisher = "99999999-9999-4999-8999-999999999999"
)

// feedT0 is the fake clock's start in every test.
var feedT0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type feedFixture struct {
	t     *testing.T
	s     *Server
	clk   *clock.Fake
	token string
	c     *http.Client
}

func newFeedFixture(t *testing.T) *feedFixture {
	t.Helper()
	clk := clock.NewFake(feedT0)
	s := NewServer(WithClock(clk))
	t.Cleanup(s.Close)
	tok, _ := s.IssueToken(feedTenantA, 24*time.Hour*30)
	return &feedFixture{t: t, s: s, clk: clk, token: tok, c: s.Client()}
}

type feedReply struct {
	status int
	header http.Header
	body   []byte
}

// afCode returns the AF error code of a JSON error body, or "".
func (r feedReply) afCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// feedURL builds an absolute URL under feedTenantA's feed root; rel may carry a
// query. PublisherIdentifier is added.
func (f *feedFixture) feedURL(tenant, rel string) string {
	u := f.s.BaseURL() + tenant + "/activity/feed/" + rel
	if strings.Contains(rel, "?") {
		return u + "&PublisherIdentifier=" + feedPublisher
	}
	return u + "?PublisherIdentifier=" + feedPublisher
}

func (f *feedFixture) do(method, url string) feedReply {
	f.t.Helper()
	return f.doToken(method, url, f.token)
}

func (f *feedFixture) doToken(method, url, token string) feedReply {
	f.t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return feedReply{resp.StatusCode, resp.Header, body}
}

func (f *feedFixture) get(rel string) feedReply {
	f.t.Helper()
	return f.do("GET", f.feedURL(feedTenantA, rel))
}
func (f *feedFixture) post(rel string) feedReply {
	f.t.Helper()
	return f.do("POST", f.feedURL(feedTenantA, rel))
}

// expectFeedAF asserts an HTTP status and AF code.
func expectFeedAF(t *testing.T, r feedReply, status int, code string) {
	t.Helper()
	if r.status != status || r.afCode() != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

func expectFeedOK(t *testing.T, r feedReply) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", r.status, r.body)
	}
}

type feedItem struct {
	ContentURI, ContentID, ContentType, ContentCreated, ContentExpiration string
}

func decodeFeedItems(t *testing.T, r feedReply) []feedItem {
	t.Helper()
	expectFeedOK(t, r)
	var items []feedItem
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("listing: %v: %s", err, r.body)
	}
	return items
}

// listAll follows NextPageUri (re-attaching PublisherIdentifier) and returns
// every feedItem and the number of pages.
func (f *feedFixture) listAll(rel string) ([]feedItem, int) {
	f.t.Helper()
	var all []feedItem
	u := f.feedURL(feedTenantA, rel)
	pages := 0
	for u != "" {
		pages++
		if pages > 1000 {
			f.t.Fatal("paging does not end")
		}
		r := f.do("GET", u)
		all = append(all, decodeFeedItems(f.t, r)...)
		u = r.header.Get("NextPageUri")
		if u != "" {
			u += "&PublisherIdentifier=" + feedPublisher
		}
	}
	return all, pages
}

func feedRecord(id string, extra string) json.RawMessage {
	return json.RawMessage(`{"Id":"` + id + `","CreationTime":"2026-11-28T10:00:00","Operation":"FileAccessed","RecordType":6,"Workload":"SharePoint"` + extra + `}`)
}
