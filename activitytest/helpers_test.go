package activitytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/clock"
)

const (
	tenantA   = "11111111-1111-4111-8111-111111111111"
	tenantB   = "22222222-2222-4222-8222-222222222222"
	publisher = "99999999-9999-4999-8999-999999999999"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	s     *Server
	clk   *clock.Fake
	token string
	c     *http.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	s := NewServer(WithClock(clk))
	t.Cleanup(s.Close)
	tok, _ := s.IssueToken(tenantA, 24*time.Hour*30)
	return &fixture{t: t, s: s, clk: clk, token: tok, c: s.Client()}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// afCode returns the AF error code of a JSON error body, or "".
func (r reply) afCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// feedURL builds an absolute URL under tenantA's feed root; rel may carry a
// query. PublisherIdentifier is added.
func (f *fixture) feedURL(tenant, rel string) string {
	u := f.s.BaseURL() + tenant + "/activity/feed/" + rel
	if strings.Contains(rel, "?") {
		return u + "&PublisherIdentifier=" + publisher
	}
	return u + "?PublisherIdentifier=" + publisher
}

func (f *fixture) do(method, url string) reply {
	f.t.Helper()
	return f.doToken(method, url, f.token)
}

func (f *fixture) doToken(method, url, token string) reply {
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
	return reply{resp.StatusCode, resp.Header, body}
}

func (f *fixture) get(rel string) reply  { f.t.Helper(); return f.do("GET", f.feedURL(tenantA, rel)) }
func (f *fixture) post(rel string) reply { f.t.Helper(); return f.do("POST", f.feedURL(tenantA, rel)) }

// expectAF asserts an HTTP status and AF code.
func expectAF(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.afCode() != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

func expectOK(t *testing.T, r reply) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", r.status, r.body)
	}
}

type item struct {
	ContentURI, ContentID, ContentType, ContentCreated, ContentExpiration string
}

func decodeItems(t *testing.T, r reply) []item {
	t.Helper()
	expectOK(t, r)
	var items []item
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("listing: %v: %s", err, r.body)
	}
	return items
}

// listAll follows NextPageUri (re-attaching PublisherIdentifier) and returns
// every item and the number of pages.
func (f *fixture) listAll(rel string) ([]item, int) {
	f.t.Helper()
	var all []item
	u := f.feedURL(tenantA, rel)
	pages := 0
	for u != "" {
		pages++
		if pages > 1000 {
			f.t.Fatal("paging does not end")
		}
		r := f.do("GET", u)
		all = append(all, decodeItems(f.t, r)...)
		u = r.header.Get("NextPageUri")
		if u != "" {
			u += "&PublisherIdentifier=" + publisher
		}
	}
	return all, pages
}

func rawRecord(id string, extra string) json.RawMessage {
	return json.RawMessage(`{"Id":"` + id + `","CreationTime":"2026-11-28T10:00:00","Operation":"FileAccessed","RecordType":6,"Workload":"SharePoint"` + extra + `}`)
}
