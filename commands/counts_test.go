package commands

import (
	"strings"
	"testing"
	"time"
)

// TestSearchScannedLineCounts: the line said "2560 matches" beside
// "2,560 records"; every count now has separators and the right noun.
func TestSearchScannedLineCounts(t *testing.T) {
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	s := &searchRun{
		types: []string{"Audit.General"}, list: [2]time.Time{at, at.Add(time.Hour)},
		listings: 1200, listed: 1200, blobsListed: 1500, blobsRead: 1500, records: 2560,
		kept: make([]keptRecord, 2560), duplicates: 1001,
	}
	got := s.scannedLine()
	for _, want := range []string{"1 content type (", "1,200 listings", "1,500 blobs", "2,560 records", "; 2,560 matches (1,001 re-delivered copies shown once)."} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	s.kept, s.duplicates = s.kept[:1], 1
	if got := s.scannedLine(); !strings.HasSuffix(got, "; 1 match (1 re-delivered copy shown once).") {
		t.Errorf("singular: %q", got)
	}
}

// TestSearchArgumentErrorsEndOnce: search-records added a "." to the
// filter's messages, which already end a sentence: "… as given.." and
// "… (SharePoint)?.".
func TestSearchArgumentErrorsEndOnce(t *testing.T) {
	e := newEmu(t)
	for _, args := range []map[string]any{
		{"workloads": "Exchang"},
		{"operations": "filedownloaded"},
		{"operations": "NoSuchOperation"},
		{"record_types": "SharePointFileOp"},
		{"client_ips": "10.0.0.0/33"},
	} {
		_, _, warnings, code := e.search(t, nil, args)
		if code == 0 || len(warnings) != 1 {
			t.Fatalf("args %v: exit %d, %q", args, code, warnings)
		}
		msg := strings.TrimSpace(warnings[0])
		if strings.HasSuffix(msg, "..") || strings.HasSuffix(msg, "?.") || !strings.ContainsAny(msg[len(msg)-1:], ".?") {
			t.Errorf("args %v: %q does not end with one full stop or question mark", args, msg)
		}
	}
}
