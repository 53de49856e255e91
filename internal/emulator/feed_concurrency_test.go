package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse runs listings, blob GETs, AddBlob, Generate, faults and
// clock moves at once; run under -race.
func TestConcurrentUse(t *testing.T) {
	f := newFeedFixture(t)
	f.s.Subscribe(feedTenantA, "Audit.General")
	f.s.SetPageSize(5)
	f.s.Generate(feedTenantA, Generation{Seed: 3, ContentTypes: []string{"Audit.General"}, Blobs: 20, RecordsPerBlob: 5, Lazy: true, Span: 6 * time.Hour, Start: feedT0.Add(-8 * time.Hour)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 30; i++ {
				u := f.feedURL(feedTenantA, "subscriptions/content?contentType=Audit.General")
				for u != "" {
					req, _ := http.NewRequest("GET", u, nil)
					req.Header.Set("Authorization", "Bearer "+f.token)
					resp, err := f.c.Do(req)
					if err != nil {
						errs <- err
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						if strings.Contains(string(body), "AF50000") {
							break // injected below
						}
						errs <- fmt.Errorf("worker %d: %d %s", w, resp.StatusCode, body)
						return
					}
					var items []feedItem
					_ = json.Unmarshal(body, &items)
					for _, it := range items {
						r, err := f.c.Do(mustReq(it.ContentURI+"?PublisherIdentifier="+feedPublisher, f.token))
						if err == nil {
							io.Copy(io.Discard, r.Body)
							r.Body.Close()
						}
					}
					u = resp.Header.Get("NextPageUri")
					if u != "" {
						u += "&PublisherIdentifier=" + feedPublisher
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ctx.Err() == nil && i < 50; i++ {
			f.s.AddBlob(feedTenantA, "Audit.General", f.s.Now().Add(-time.Minute), feedRecord(fmt.Sprint("c", i), ""))
			f.clk.Advance(time.Second)
			if i%10 == 0 {
				f.s.FailNext("subscriptions/content", 1, InternalError)
				f.s.Generate(feedTenantA, Generation{Seed: int64(i), ContentTypes: []string{"Audit.General"}, Blobs: 2, RecordsPerBlob: 3})
				_ = f.s.Records(feedTenantA, "Audit.General", feedT0.Add(-24*time.Hour), f.s.Now())
				_ = f.s.allRecordIDs(feedTenantA)
				f.s.SetPageSize(3 + i%5)
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.s.Count("blob") == 0 || f.s.Count("subscriptions/content") == 0 {
		t.Fatal("nothing served")
	}
}

func mustReq(url, token string) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func TestTLSServerURIs(t *testing.T) {
	s := NewTLSServer()
	defer s.Close()
	tok, _ := s.IssueToken(feedTenantA, time.Hour)
	s.Subscribe(feedTenantA, "DLP.All")
	s.AddBlob(feedTenantA, "DLP.All", s.Now().Add(-time.Hour), feedRecord("x", ""))
	resp, err := s.Client().Do(mustReq(s.BaseURL()+feedTenantA+"/activity/feed/subscriptions/content?contentType=DLP.All&PublisherIdentifier="+feedPublisher, tok))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []feedItem
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || len(items) != 1 {
		t.Fatalf("%v %v", err, items)
	}
	if !strings.HasPrefix(items[0].ContentURI, "https://") {
		t.Fatalf("contentUri %s", items[0].ContentURI)
	}
	r2, err := s.Client().Do(mustReq(items[0].ContentURI, tok))
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("%v", err)
	}
	r2.Body.Close()
}
