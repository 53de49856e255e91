package emulator

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fetchAll lists [from, to) in 24 h windows and GETs every blob, returning
// blob bodies by content ID in listing order.
func (f *feedFixture) fetchAll(ct string, from, to time.Time) (ids []string, bodies map[string][]byte) {
	f.t.Helper()
	bodies = map[string][]byte{}
	for ws := from; ws.Before(to); ws = ws.Add(24 * time.Hour) {
		we := ws.Add(24 * time.Hour)
		if we.After(to) {
			we = to
		}
		items, _ := f.listAll("subscriptions/content?contentType=" + ct + "&startTime=" + apiTime(ws) + "&endTime=" + apiTime(we))
		for _, it := range items {
			r := f.do("GET", it.ContentURI+"?PublisherIdentifier="+feedPublisher)
			expectFeedOK(f.t, r)
			ids = append(ids, it.ContentID)
			bodies[it.ContentID] = r.body
		}
	}
	return ids, bodies
}

func TestGenerateDeterministic(t *testing.T) {
	g := Generation{Seed: 42, Blobs: 8, RecordsPerBlob: 30, LateFraction: 0.25, DuplicateFraction: 0.1}
	fetch := func(g Generation) ([]string, map[string][]byte) {
		f := newFeedFixture(t)
		f.s.Subscribe(feedTenantA, "Audit.Exchange")
		f.s.Generate(feedTenantA, g)
		f.clk.Advance(24 * time.Hour) // everything available
		return f.fetchAll("Audit.Exchange", feedT0.Add(-24*time.Hour), f.s.Now())
	}
	ids1, b1 := fetch(g)
	ids2, b2 := fetch(g)
	lazy := g
	lazy.Lazy = true
	ids3, b3 := fetch(lazy)
	if len(ids1) != 8 || !slices.Equal(ids1, ids2) || !slices.Equal(ids1, ids3) {
		t.Fatalf("content IDs differ:\n%v\n%v\n%v", ids1, ids2, ids3)
	}
	for _, id := range ids1 {
		if !bytes.Equal(b1[id], b2[id]) || !bytes.Equal(b1[id], b3[id]) {
			t.Fatalf("blob %s bytes differ (eager/eager/lazy)", id)
		}
	}
	g.Seed = 43
	ids4, _ := fetch(g)
	if slices.Equal(ids1, ids4) {
		t.Fatal("a different seed gave the same blobs")
	}
}

var (
	feedGUIDRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	feedCreationRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?$`)
)

func TestGenerateRealism(t *testing.T) {
	f := newFeedFixture(t)
	for _, ct := range ContentTypes() {
		f.s.Subscribe(feedTenantA, ct)
	}
	g := Generation{Seed: 1, Blobs: 20, RecordsPerBlob: 25, Span: 12 * time.Hour, LateFraction: 0.3, LateBy: 6 * time.Hour, DuplicateFraction: 0.05}
	sum := f.s.Generate(feedTenantA, g)
	if sum.Blobs != 100 || sum.Records != 100*25 || !sum.LastCreated.After(feedT0) {
		t.Fatalf("summary %+v", sum)
	}
	f.clk.Set(sum.LastCreated.Add(time.Second))

	wantWorkloads := map[string][]string{
		"Audit.AzureActiveDirectory": {"AzureActiveDirectory"},
		"Audit.Exchange":             {"Exchange"},
		"Audit.SharePoint":           {"SharePoint", "OneDrive"},
		"Audit.General":              {"MicrosoftTeams", "PowerBI", "Copilot"},
		"DLP.All":                    {"Exchange", "SharePoint", "OneDrive"},
	}
	recordTypes := map[string][]int{
		"AzureActiveDirectory": {8, 15}, "Exchange": {1, 2, 50, 13}, "SharePoint": {6, 14, 11},
		"OneDrive": {6, 14, 11}, "MicrosoftTeams": {25}, "PowerBI": {20}, "Copilot": {261},
	}
	totalLate, outOfOrderTypes := 0, 0
	for _, ct := range ContentTypes() {
		ids, bodies := f.fetchAll(ct, feedT0.Add(-12*time.Hour), f.s.Now())
		if len(ids) != 20 {
			t.Fatalf("%s: %d blobs", ct, len(ids))
		}
		seen := map[string][]byte{}
		var dups, fractional, nullIP, late, size, n int
		ops := map[string]bool{}
		var lastMaxEvent time.Time
		outOfOrder := false
		for _, id := range ids {
			var recs []json.RawMessage
			if err := json.Unmarshal(bodies[id], &recs); err != nil {
				t.Fatalf("%s %s: %v", ct, id, err)
			}
			created, _ := time.Parse("20060102150405.000", id[:14]+"."+id[14:17])
			var maxEvent time.Time
			for _, raw := range recs {
				n++
				size += len(raw)
				var rec map[string]any
				if err := json.Unmarshal(raw, &rec); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"Id", "RecordType", "CreationTime", "Operation", "OrganizationId", "UserType", "UserKey", "Workload", "UserId", "ClientIP"} {
					if _, ok := rec[k]; !ok {
						t.Fatalf("%s: record lacks %s: %s", ct, k, raw)
					}
				}
				id := rec["Id"].(string)
				if !feedGUIDRE.MatchString(id) {
					t.Fatalf("Id %q", id)
				}
				if prev, ok := seen[id]; ok {
					dups++
					if !bytes.Equal(prev, raw) {
						t.Fatalf("re-delivered record %s differs", id)
					}
				}
				seen[id] = raw
				wl := rec["Workload"].(string)
				if !slices.Contains(wantWorkloads[ct], wl) || !slices.Contains(recordTypes[wl], int(rec["RecordType"].(float64))) {
					t.Fatalf("%s: workload %s record type %v", ct, wl, rec["RecordType"])
				}
				ops[rec["Operation"].(string)] = true
				ctime := rec["CreationTime"].(string)
				if !feedCreationRE.MatchString(ctime) {
					t.Fatalf("CreationTime %q", ctime)
				}
				if strings.Contains(ctime, ".") {
					fractional++
				}
				if rec["ClientIP"] == nil {
					nullIP++
				}
				at, _ := time.Parse("2006-01-02T15:04:05", ctime[:19])
				if at.After(created) {
					t.Fatalf("event %s after its blob's contentCreated %s", at, created)
				}
				if at.After(maxEvent) {
					maxEvent = at
				}
			}
			if created.Sub(maxEvent) > 3*time.Hour {
				late++
			}
			if maxEvent.Before(lastMaxEvent.Add(-time.Hour)) {
				outOfOrder = true
			}
			if maxEvent.After(lastMaxEvent) {
				lastMaxEvent = maxEvent
			}
		}
		if dups == 0 || fractional == 0 {
			t.Errorf("%s: dups=%d fractional=%d", ct, dups, fractional)
		}
		totalLate += late
		if outOfOrder {
			outOfOrderTypes++
		}
		if ct == "Audit.AzureActiveDirectory" && nullIP == 0 {
			t.Errorf("no null ClientIP in AAD records")
		}
		if avg := size / n; avg < 600 || avg > 2000 {
			t.Errorf("%s: average record %d bytes", ct, avg)
		}
		if len(ops) < 3 {
			t.Errorf("%s: only operations %v", ct, ops)
		}
		// Ground truth = distinct records actually served.
		refs := f.s.Records(feedTenantA, ct, time.Time{}, f.s.Now().Add(time.Second))
		if len(refs) != len(seen) {
			t.Fatalf("%s: Records %d, served distinct %d", ct, len(refs), len(seen))
		}
		for _, r := range refs {
			if !bytes.Equal(seen[r.ID], r.Raw) {
				t.Fatalf("%s: ground truth bytes differ for %s", ct, r.ID)
			}
		}
	}
	// 30% of 100 blobs are late; most late blobs list after newer events.
	if totalLate < 15 || outOfOrderTypes < 3 {
		t.Errorf("late blobs %d, content types out of order %d", totalLate, outOfOrderTypes)
	}
	all := f.s.allRecordIDs(feedTenantA)
	if len(all) == 0 || !slices.IsSorted(all) {
		t.Fatal("allRecordIDs")
	}
}

// TestDemoGeneration: the demo's preset gives a few thousand records that
// list, at the emulator's clock.
func TestDemoGeneration(t *testing.T) {
	f := newFeedFixture(t)
	tenant := DemoTenantID
	for _, ct := range contentTypes {
		f.s.Subscribe(tenant, ct)
	}
	g := DemoGeneration()
	g.Start = f.s.Now().Add(-g.Span - g.Delay)
	f.s.Generate(tenant, g)
	tok, _ := f.s.IssueToken(tenant, time.Hour)
	f.token = tok
	r := f.do("GET", f.feedURL(tenant, "subscriptions/list"))
	var subs []map[string]any
	if err := json.Unmarshal(r.body, &subs); err != nil || len(subs) != 5 {
		t.Fatalf("subs %s", r.body)
	}
	total := len(f.s.allRecordIDs(tenant))
	if total < 2000 || total > 10000 {
		t.Fatalf("demo has %d records", total)
	}
	r = f.do("GET", f.feedURL(tenant, "subscriptions/content?contentType=Audit.SharePoint"))
	var items []feedItem
	if json.Unmarshal(r.body, &items) != nil || len(items) == 0 {
		t.Fatalf("demo listing %s", r.body)
	}
}
