package search

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

func rec(t *testing.T, js string) *activity.Record {
	t.Helper()
	r, err := activity.DecodeRecord([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

var (
	t0 = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
)

func TestParseRecordAddr(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":              "1.2.3.4",
		" 1.2.3.4 ":            "1.2.3.4",
		"1.2.3.4:5678":         "1.2.3.4",
		"2001:db8::1":          "2001:db8::1",
		"[2001:db8::1]":        "2001:db8::1",
		"[2001:db8::1]:443":    "2001:db8::1",
		"::ffff:1.2.3.4":       "1.2.3.4",
		"[::ffff:1.2.3.4]:80":  "1.2.3.4",
		"fe80::1%eth0":         "fe80::1",
		"2A01:111:F400::ABCD":  "2a01:111:f400::abcd",
		"[2001:db8::1%3]:8080": "2001:db8::1",
	} {
		a, ok := ParseRecordAddr(in)
		if !ok || a.String() != want {
			t.Errorf("ParseRecordAddr(%q) = %v, %v; want %s", in, a, ok, want)
		}
	}
	for _, in := range []string{"", "<null>", "1.2.3", "1.2.3.4.5", "[1.2.3.4", "host.example.com", "1.2.3.4:", "1.2.3.4:99999", "::1]"} {
		if a, ok := ParseRecordAddr(in); ok {
			t.Errorf("ParseRecordAddr(%q) = %v, want not an address", in, a)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":         "203.0.113.7/32",
		"10.0.0.0/8":          "10.0.0.0/8",
		"10.1.2.3/8":          "10.0.0.0/8",
		"2001:db8::/32":       "2001:db8::/32",
		"2001:db8::1":         "2001:db8::1/128",
		"::ffff:1.2.3.4":      "1.2.3.4/32",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"[2001:db8::1]:443":   "2001:db8::1/128",
		"198.51.100.20:50001": "198.51.100.20/32",
		" 192.0.2.0/24 ":      "192.0.2.0/24",
		"::/0":                "::/0",
		"2001:DB8:0:0::/64":   "2001:db8::/64",
	} {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "10.0.0/8", "alice", "1.2.3.4/", "/8", "2001:db8::/129"} {
		if _, err := ParsePrefix(in); err == nil || !strings.Contains(err.Error(), "not an IP address or CIDR range") {
			t.Errorf("ParsePrefix(%q) error = %v, want a message naming what is accepted", in, err)
		}
	}
}

func TestMatchClientAddresses(t *testing.T) {
	records := map[string]string{
		"v4":        `{"Id":"a","CreationTime":"2026-11-28T10:00:00","ClientIP":"203.0.113.7"}`,
		"v4port":    `{"Id":"b","CreationTime":"2026-11-28T10:00:00","ClientIP":"203.0.113.7:5678"}`,
		"v6port":    `{"Id":"c","CreationTime":"2026-11-28T10:00:00","ClientIP":"[2001:db8::1]:443"}`,
		"mapped":    `{"Id":"d","CreationTime":"2026-11-28T10:00:00","ClientIP":"::ffff:203.0.113.7"}`,
		"actor":     `{"Id":"e","CreationTime":"2026-11-28T10:00:00","ActorIpAddress":"203.0.113.7"}`,
		"exchange":  `{"Id":"f","CreationTime":"2026-11-28T10:00:00","ClientIP":"","ClientIPAddress":"2001:db8::1"}`,
		"other":     `{"Id":"g","CreationTime":"2026-11-28T10:00:00","ClientIP":"198.51.100.9"}`,
		"none":      `{"Id":"h","CreationTime":"2026-11-28T10:00:00","ClientIP":null}`,
		"garbage":   `{"Id":"i","CreationTime":"2026-11-28T10:00:00","ClientIP":"<null>"}`,
		"nested":    `{"Id":"j","CreationTime":"2026-11-28T10:00:00","ExtendedProperties":{"ClientIP":"203.0.113.7"}}`,
		"secondNet": `{"Id":"k","CreationTime":"2026-11-28T10:00:00","ClientIP":"10.200.3.4","ActorIpAddress":"2001:db8:ffff::9"}`,
	}
	for _, c := range []struct {
		filter []string
		want   string // the records that match, sorted keys joined
	}{
		{[]string{"203.0.113.7"}, "actor mapped v4 v4port"},
		{[]string{"203.0.113.0/24"}, "actor mapped v4 v4port"},
		{[]string{"::ffff:203.0.113.7"}, "actor mapped v4 v4port"},
		{[]string{"2001:db8::1"}, "exchange v6port"},
		{[]string{"2001:db8::/32"}, "exchange secondNet v6port"},
		{[]string{"10.0.0.0/8", "198.51.100.9"}, "other secondNet"},
		{[]string{"192.0.2.1"}, ""},
	} {
		m, err := New(Criteria{ClientIPs: c.filter})
		if err != nil {
			t.Fatal(err)
		}
		m = m.InRange(t0, t1)
		var got []string
		for _, k := range slices.Sorted(maps.Keys(records)) {
			if m.Match(rec(t, records[k])) == Match {
				got = append(got, k)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("client_ips %v matched [%s], want [%s]", c.filter, g, c.want)
		}
	}
}

func TestMatchFilters(t *testing.T) {
	r := rec(t, `{"Id":"x","CreationTime":"2026-11-28T10:02:11.123","RecordType":6,"Operation":"FileDownloaded","Workload":"SharePoint",`+
		`"ResultStatus":"Succeeded","UserId":"Bob@Contoso.com","UserKey":"i:0h.f|membership|bob","ObjectId":"https://contoso.sharepoint.com/sites/SOC/plan.docx",`+
		`"ClientIP":"2001:db8::1","UserAgent":"Mozilla/5.0 \"Edge\"","Path":"C:\\Temp\\plan.docx"}`)
	for _, c := range []struct {
		name string
		c    Criteria
		want Verdict
	}{
		{"user by UserId, any case", Criteria{UserIDs: []string{"bob@contoso.COM"}}, Match},
		{"user by UserKey", Criteria{UserIDs: []string{"alice@contoso.com", "I:0H.F|membership|bob"}}, Match},
		{"user is not a substring match", Criteria{UserIDs: []string{"bob"}}, NoMatch},
		{"object substring", Criteria{ObjectIDs: []string{"/sites/soc/"}}, Match},
		{"object other", Criteria{ObjectIDs: []string{"budget.xlsx"}}, NoMatch},
		{"operation", Criteria{Operations: []string{"FileUploaded", "FileDownloaded"}}, Match},
		{"operation not listed, taken as given", Criteria{Operations: []string{"FileDownloaded2!"}}, NoMatch},
		{"record type by name", Criteria{RecordTypes: []string{"SharePointFileOperation"}}, Match},
		{"record type by number", Criteria{RecordTypes: []string{"6"}}, Match},
		{"record type other", Criteria{RecordTypes: []string{"25"}}, NoMatch},
		{"workload", Criteria{Workloads: []string{"sharepoint"}}, Match},
		{"result status", Criteria{ResultStatus: []string{"failed"}}, NoMatch},
		{"result status any case", Criteria{ResultStatus: []string{"SUCCEEDED"}}, Match},
		{"query anywhere", Criteria{Query: "mozilla/5.0"}, Match},
		{"query with a quote as written", Criteria{Query: `5.0 "edge"`}, Match},
		{"query with a backslash as written", Criteria{Query: `C:\Temp\plan`}, Match},
		{"query absent", Criteria{Query: "fabrikam"}, NoMatch},
		{"combined, all true", Criteria{UserIDs: []string{"bob@contoso.com"}, ClientIPs: []string{"2001:db8::/48"}, Operations: []string{"FileDownloaded"}, Query: "plan.docx"}, Match},
		{"combined, one false", Criteria{UserIDs: []string{"bob@contoso.com"}, ClientIPs: []string{"10.0.0.0/8"}}, NoMatch},
	} {
		m, err := New(c.c)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		m = m.InRange(t0, t1)
		if got := m.Match(r); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMatchTimeRange(t *testing.T) {
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC)
	m, err := New(Criteria{UserIDs: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	m = m.InRange(start, end)
	for ct, want := range map[string]Verdict{
		"2026-11-28T09:00:00":        Match, // start is inclusive
		"2026-11-28T11:00:00":        Match, // end is inclusive
		"2026-11-28T11:00:00.001":    NoMatch,
		"2026-11-28T08:59:59.999":    NoMatch,
		"2026-11-28T10:00:00Z":       Match,
		"2026-11-28T12:30:00+02:00":  Match,
		"2026-11-28T10:00:00.123456": Match,
		"yesterday":                  NoTime,
	} {
		r := rec(t, `{"UserId":"a","CreationTime":"`+ct+`"}`)
		if got := m.Match(r); got != want {
			t.Errorf("CreationTime %s: %v, want %v", ct, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Criteria{ClientIPs: []string{"1.2.3.4", "nope"}}); err == nil || !strings.HasPrefix(err.Error(), `client_ips: "nope" is not`) {
		t.Errorf("bad address: %v", err)
	}
	if _, err := New(Criteria{RecordTypes: []string{"SharePointFileOp"}}); err == nil || !strings.HasPrefix(err.Error(), "record_types:") || !strings.Contains(err.Error(), "did you mean") {
		t.Errorf("bad record type: %v", err)
	}
	if _, err := New(Criteria{Operations: []string{"filedownloaded"}}); err == nil || !strings.HasPrefix(err.Error(), "operations:") || !strings.Contains(err.Error(), "did you mean FileDownloaded") {
		t.Errorf("operation in the wrong case: %v", err)
	}
	if _, err := New(Criteria{Workloads: []string{"SharePont"}}); err == nil || !strings.HasPrefix(err.Error(), "workloads:") || !strings.Contains(err.Error(), "SharePoint") {
		t.Errorf("misspelt workload: %v", err)
	}
	if !(Criteria{Query: "  "}).Empty() || (Criteria{Workloads: []string{"x"}}).Empty() {
		t.Error("Criteria.Empty is wrong")
	}
}

func TestContainsFold(t *testing.T) {
	hays := []string{"", "a", "abc", "ABC", "xxAbCxx", "aaaaAAAAab", strings.Repeat("a", 100) + "B", "Ünïcode ÄBC", "abcab", "bbbbbbbbA"}
	needles := []string{"a", "abc", "ab", "b", "ba", "aab", "ünï", "äbc", "cab", "xyz", "ba"}
	for _, h := range hays {
		for _, n := range needles {
			want := strings.Contains(strings.ToLower(h), n)
			if got := ContainsFold(h, n); got != want {
				t.Errorf("ContainsFold(%q, %q) = %v, want %v", h, n, got, want)
			}
		}
	}
}

func FuzzContainsFold(f *testing.F) {
	f.Add("Hello World", "o w")
	f.Add("aAaAb", "ab")
	f.Fuzz(func(t *testing.T, h, n string) {
		n = strings.ToLower(n)
		if !isASCII(n) || !isASCII(h) {
			return
		}
		if got, want := ContainsFold(h, n), strings.Contains(strings.ToLower(h), n); got != want {
			t.Fatalf("ContainsFold(%q, %q) = %v, want %v", h, n, got, want)
		}
	})
}

// A long record with a needle whose first letter appears only in one case
// far from the start must still be scanned in linear time (this would take
// seconds if each candidate rescanned to the end).
func TestContainsFoldLinear(t *testing.T) {
	h := strings.Repeat("a", 1<<20) + "B"
	if ContainsFold(h, "ax") {
		t.Fatal("false match")
	}
	if !ContainsFold(h, "ab") {
		t.Fatal("missed match")
	}
}
