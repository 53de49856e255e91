package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/fetch"
)

// TestFetchGivesUpOnUnreadableBlob: a blob whose body cannot be decoded
// (here JSON that is not an array) holds its content type's cursor for
// fetch.GiveUpRuns-1 runs — records after it wait, nothing is skipped — and
// is then skipped with a warning, so one bad blob cannot stall a content type
// until it expires.
func TestFetchGivesUpOnUnreadableBlob(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	e := newFetchEmu(t, now)
	e.srv.Subscribe(e.tenant, "Audit.General")
	bad := e.srv.AddBlob(e.tenant, "Audit.General", now.Add(-30*time.Minute), fetchRecord("bad-1", "SharePoint", "FileAccessed", now.Add(-40*time.Minute)))
	e.srv.AddBlob(e.tenant, "Audit.General", now.Add(-20*time.Minute), fetchRecord("good-1", "SharePoint", "FileAccessed", now.Add(-25*time.Minute)))
	p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "1 hour", "download_concurrency": "1"}

	var lastRun []byte
	for run := 1; run < fetch.GiveUpRuns; run++ {
		e.srv.FailNext("blob", 1, emulator.NotArray)
		out, code := e.fetchRun(p, lastRun)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %v", run, code, out.Results)
		}
		if n := len(*out.Incidents); n != 0 {
			t.Fatalf("run %d: %d incidents; the record after the unreadable blob must wait", run, n)
		}
		lastRun = lastRunOf(t, out)
		if !strings.Contains(string(lastRun), `"unreadable":[{"content_id":"`+bad+`"`) || !strings.Contains(string(lastRun), `"runs":`) {
			t.Fatalf("run %d: lastRun does not count the unreadable blob: %s", run, lastRun)
		}
	}
	e.srv.FailNext("blob", 1, emulator.NotArray)
	out, code := e.fetchRun(p, lastRun)
	if code != 0 {
		t.Fatalf("give-up run: exit %d: %v", code, out.Results)
	}
	if n := len(*out.Incidents); n != 1 || !strings.Contains((*out.Incidents)[0].RawJSON, "good-1") {
		t.Fatalf("give-up run: incidents %+v, want only good-1", *out.Incidents)
	}
	if len(out.Results) == 0 || !strings.Contains(out.Results[0].Contents.(string), "gave up on content blob "+bad) {
		t.Errorf("no warning naming the skipped blob: %+v", out.Results)
	}
	lastRun = lastRunOf(t, out)
	if strings.Contains(string(lastRun), `"unreadable"`) {
		t.Errorf("the given-up blob is still counted: %s", lastRun)
	}
	// And it is never delivered later, even when it reads fine again.
	out, _ = e.fetchRun(p, lastRun)
	if n := len(*out.Incidents); n != 0 {
		t.Errorf("after giving up: %d incidents, want 0", n)
	}
}

// TestFetchUnreadableThenReadable: a blob that fails once and then reads is
// delivered, and its failure count is dropped.
func TestFetchUnreadableThenReadable(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	e := newFetchEmu(t, now)
	e.srv.Subscribe(e.tenant, "Audit.General")
	e.srv.AddBlob(e.tenant, "Audit.General", now.Add(-30*time.Minute), fetchRecord("r-1", "SharePoint", "FileAccessed", now.Add(-40*time.Minute)))
	p := map[string]any{"content_types_to_fetch": "Audit.General", "first_fetch_delta": "1 hour"}
	e.srv.FailNext("blob", 1, emulator.NotArray)
	out, code := e.fetchRun(p, nil)
	if code != 0 || len(*out.Incidents) != 0 {
		t.Fatalf("first run: exit %d, %d incidents", code, len(*out.Incidents))
	}
	out, code = e.fetchRun(p, lastRunOf(t, out))
	if code != 0 || len(*out.Incidents) != 1 {
		t.Fatalf("second run: exit %d, %d incidents, want 1", code, len(*out.Incidents))
	}
	if lr := lastRunOf(t, out); strings.Contains(string(lr), `"unreadable"`) {
		t.Errorf("failure count kept after a successful read: %s", lr)
	}
}
