package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/params"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// emu is an emulator with a tenant "contoso" and deps wired to it.
type emu struct {
	srv  *emulator.Server
	fake *clock.Fake
	deps *Deps
}

func newEmu(t *testing.T) *emu {
	t.Helper()
	fake := clock.NewFake(testNow)
	srv := emulator.NewTLSServer(emulator.WithClock(fake))
	t.Cleanup(srv.Close)
	srv.AddTenant("contoso")
	tr := srv.Client().Transport
	deps := &Deps{
		Clock: fake,
		HTTPClient: func(p *params.Params) *http.Client {
			return &http.Client{Timeout: p.Timeout, Transport: tr}
		},
		TokenSource: func(context.Context, *Env) (activity.TokenSource, error) {
			tok, _ := srv.IssueToken("contoso", time.Hour)
			return activity.StaticToken(tok), nil
		},
	}
	return &emu{srv: srv, fake: fake, deps: deps}
}

func (e *emu) run(t *testing.T, command string, args map[string]any) (*Output, int) {
	t.Helper()
	envl := &Envelope{
		Command: command,
		Params:  map[string]any{"base_url": e.srv.BaseURL()},
		Args:    args,
	}
	return Run(context.Background(), envl, e.deps)
}

func record(id string, rt int, workload, op string, created time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":%q,"OrganizationId":"org-1","RecordType":%d,"UserKey":"key","UserType":0,"Version":1,"Workload":%q,"ResultStatus":"","ObjectId":null,"UserId":"u@contoso.com","ClientIP":"10.0.0.1","Extra":{"a":[1,2]}}`,
		created.Format("2006-01-02T15:04:05"), id, op, rt, workload))
}

func TestListContentEndToEnd(t *testing.T) {
	e := newEmu(t)
	e.srv.Subscribe("contoso", "Audit.General")
	e.srv.SetPageSize(3)
	var ids []string
	for b := 0; b < 10; b++ {
		created := testNow.Add(-time.Duration(20-b) * time.Hour)
		var recs []json.RawMessage
		for r := 0; r < 4; r++ {
			id := fmt.Sprintf("rec-%02d-%d", b, r)
			wl, rt := "MicrosoftTeams", 25
			if r%2 == 1 {
				wl, rt = "SharePoint", 6
			}
			recs = append(recs, record(id, rt, wl, "Op"+fmt.Sprint(r), created.Add(-time.Hour)))
			if r%2 == 0 {
				ids = append(ids, id)
			}
		}
		e.srv.AddBlob("contoso", "Audit.General", created, recs...)
	}
	out, code := e.run(t, CmdListContent, map[string]any{"content_type": "audit.general", "record_types_filter": "microsoftteams", "workloads_filter": " MicrosoftTeams "})
	if code != 0 {
		t.Fatalf("exit %d: %+v", code, out.Results)
	}
	entry := out.Results[0]
	if !strings.HasPrefix(entry.HumanReadable, "### Content for content type Audit.General\n|ID|CreationTime|Workload|Operation|\n|---|---|---|---|\n| rec-00-0 | ") {
		t.Errorf("HR:\n%s", entry.HumanReadable)
	}
	var ctxList []map[string]any
	b, _ := json.Marshal(entry.EntryContext[xcontext.ContentRecordKey])
	if err := json.Unmarshal(b, &ctxList); err != nil {
		t.Fatal(err)
	}
	if len(ctxList) != len(ids) {
		t.Fatalf("%d context records, want %d", len(ctxList), len(ids))
	}
	for i, c := range ctxList {
		if c["ID"] != ids[i] {
			t.Errorf("record %d ID %v, want %s", i, c["ID"], ids[i])
		}
		if _, ok := c["ResultsStatus"]; ok {
			t.Errorf("empty ResultsStatus kept")
		}
		if _, ok := c["ObjectID"]; ok {
			t.Errorf("null ObjectID kept")
		}
		if len(c) != 10 {
			t.Errorf("context keys: %v", c)
		}
	}
	contents := entry.Contents.([]json.RawMessage)
	if len(contents) != len(ids) || !strings.Contains(string(contents[0]), `"Extra":{"a":[1,2]}`) {
		t.Errorf("contents: %s", contents[0])
	}
	if n := e.srv.Count("subscriptions/content"); n != 4 {
		t.Errorf("content listing requests = %d, want 4 pages", n)
	}
}
