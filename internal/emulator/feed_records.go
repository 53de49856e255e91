package emulator

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Synthetic audit records: the common schema (MS-SCHEMA AuditRecord) plus
// workload-specific fields, nested objects, arrays, "stringly" JSON and
// numbers-as-strings, so clients meet unknown fields as they would live.

type demoUser struct {
	upn, display, puid, aadID string
}

var demoUsers = sync.OnceValue(func() []demoUser {
	first := []string{"adele", "alex", "allan", "christie", "debra", "diego", "emily", "enrico", "grady", "henrietta", "irvin", "isaiah", "johanna", "joni", "lee", "lidia", "lynne", "megan", "miriam", "nestor", "patti", "pradeep"}
	last := []string{"vance", "wilber", "deyoung", "cline", "berger", "siciliani", "braun", "cattaneo", "archie", "mueller", "sayers", "langer", "lorenz", "sherman", "gu", "holloway", "robbins", "bowen", "graham", "wilke", "fernandez", "gupta"}
	var out []demoUser
	for i, f := range first {
		for k, l := range last {
			seed := uint64(i*100 + k)
			out = append(out, demoUser{
				upn:     f + "." + l + "@contoso.onmicrosoft.com",
				display: strings.ToUpper(f[:1]) + f[1:] + " " + strings.ToUpper(l[:1]) + l[1:],
				puid:    string(appendHex([]byte("10032000"), mix(0x9D1D, seed), 8)),
				aadID:   guidFrom(mix(0xAAD, seed)),
			})
		}
	}
	return out
})

var (
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18227; Pro)",
		"OneDriveMpc-Transform_Thumbnail/1.0",
		"Microsoft SkyDriveSync 24.215.1027.0001 ship; Windows NT 10.0 (22631)",
	}
	apps = []struct{ id, name string }{
		{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
		{"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
		{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
		{"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"},
		{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"},
	}
	fileNames  = []string{"Q3 forecast.xlsx", "Board deck.pptx", "Contract - Fabrikam.docx", "Salaries 2026.xlsx", "Roadmap.docx", "notes.txt", "diagram.vsdx", "invoice-4471.pdf"}
	subjects   = []string{"Quarterly report", "RE: Invoice 4471", "Offsite agenda", "Password reset", "FW: Contract draft", "Lunch?"}
	teamNames  = []string{"Finance", "Mark 8 Project Team", "Retail", "Sales and Marketing", "U.S. Sales", "Digital Initiative Public Relations"}
	siteNames  = []string{"Finance", "Mark8ProjectTeam", "Retail", "SalesAndMarketing", "HR"}
	policyName = []string{"U.S. Financial Data", "GDPR Enhanced", "Credit card numbers", "PII - Social Security"}
	sensTypes  = []struct{ id, name string }{
		{"50842eb7-edc8-4019-85dd-5a5c1f2bb085", "Credit Card Number"},
		{"a44669fe-0d48-453d-a9b1-2cc83f2cba77", "U.S. Social Security Number (SSN)"},
		{"a2ce32a8-f935-4bb6-8e96-2a5157672e2c", "U.S. Bank Account Number"},
	}
)

// personalSite turns a UPN into its OneDrive URL segment.
var personalSite = strings.NewReplacer(".", "_", "@", "_")

// rec holds what every record writer needs.
type rec struct {
	w          *jw
	r          *rng
	g          *generation
	idHi, idLo uint64
	layout     string // CreationTime layout
	at         time.Time
	user       demoUser
}

// recordWriter renders records with no per-record allocation of its own
// state; one serves a whole blob.
type recordWriter struct {
	jw  jw
	rng rng
	rec rec
}

func (g *generation) newRecordWriter() *recordWriter {
	rw := &recordWriter{}
	rw.rec = rec{w: &rw.jw, r: &rw.rng, g: g}
	return rw
}

// appendRecord renders record (natural blob n, index j) to buf. The output
// depends only on (generation key, n, j), so re-deliveries repeat it exactly.
func (g *generation) appendRecord(buf []byte, n, j int) []byte {
	return g.newRecordWriter().render(buf, n, j)
}

func (rw *recordWriter) render(buf []byte, n, j int) []byte {
	c, g, r := &rw.rec, rw.rec.g, &rw.rng
	*r = g.recordRNG(n, j)
	c.idHi, c.idLo = r.next(), r.next()
	c.at = g.start.Add(g.slice*time.Duration(n) + r.dur(g.slice)).Truncate(time.Millisecond)
	c.layout = "2006-01-02T15:04:05" // no zone suffix, as the API sends it
	if r.chance(0.25) {
		c.layout = "2006-01-02T15:04:05.000"
	}
	c.user = pick(r, demoUsers())
	w := c.w
	*w = jw{b: buf}
	w.open('{')
	switch g.ct {
	case "Audit.AzureActiveDirectory":
		c.aad()
	case "Audit.Exchange":
		c.exchange()
	case "Audit.SharePoint":
		c.sharePoint()
	case "DLP.All":
		c.dlp()
	default:
		c.general()
	}
	w.close('}')
	buf = w.b
	w.b = nil
	return buf
}

// head writes the common fields every record starts with.
func (c *rec) head(op string, recordType int, resultStatus, userKey string, userType int, workload string) {
	w := c.w
	w.ktime("CreationTime", c.at, c.layout)
	w.key("Id")
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendGUID(w.b, c.idHi, c.idLo)
	w.b = append(w.b, '"')
	w.need = true
	w.kstr("Operation", op)
	w.kstr("OrganizationId", c.g.org)
	w.knum("RecordType", recordType)
	if resultStatus != "" {
		w.kstr("ResultStatus", resultStatus)
	}
	w.kstr("UserKey", userKey)
	w.knum("UserType", userType)
	w.knum("Version", 1)
	w.kstr("Workload", workload)
}

var ipv4Nets = []string{"203.0.113", "198.51.100", "52.169.12", "40.126.32", "192.0.2"}

// kip writes a client address under key k in the shapes seen live (IPv4,
// IPv6, either with a port) and returns the address's span in w.b.
func (c *rec) kip(k string) (from, to int) {
	w, r := c.w, c.r
	w.key(k)
	w.sep()
	w.b = append(w.b, '"')
	from = len(w.b)
	x := r.intn(20) // 0–11 v4, 12–15 v6, 16–17 v4:port, 18–19 [v6]:port
	if x >= 18 {
		w.b = append(w.b, '[')
	}
	if x >= 12 && x < 16 || x >= 18 {
		w.b = append(w.b, "2a01:111:f400:"...)
		w.b = appendHex(w.b, r.next(), 4)
		w.b = append(w.b, ':')
		w.b = appendHex(w.b, r.next(), 4)
		w.b = append(w.b, "::"...)
		w.b = strconv.AppendUint(w.b, 1+r.next()%0xfffe, 16)
	} else {
		w.b = append(w.b, pick(r, ipv4Nets)...)
		w.b = append(w.b, '.')
		w.b = strconv.AppendInt(w.b, int64(1+r.intn(254)), 10)
	}
	if x >= 18 {
		w.b = append(w.b, ']')
	}
	if x >= 16 {
		w.b = append(w.b, ':')
		w.b = strconv.AppendInt(w.b, int64(1024+r.intn(60000)), 10)
	}
	to = len(w.b)
	w.b = append(w.b, '"')
	w.need = true
	return from, to
}

// kguid writes a fresh random GUID under key k without allocating.
func (c *rec) kguid(k string) {
	w := c.w
	w.key(k)
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendGUID(w.b, c.r.next(), c.r.next())
	w.b = append(w.b, '"')
	w.need = true
}

// appAccessContext writes the optional AppAccessContext object.
func (c *rec) appAccessContext() {
	w := c.w
	app := pick(c.r, apps)
	w.key("AppAccessContext")
	w.open('{')
	c.kguid("AADSessionId")
	c.kguid("APIId")
	w.kstr("ClientAppId", app.id)
	w.kstr("ClientAppName", app.name)
	c.kguid("CorrelationId")
	w.ktime("IssuedAtTime", c.at.Add(-time.Duration(c.r.intn(3600))*time.Second), "2006-01-02T15:04:05")
	w.kstr("UniqueTokenId", string(appendHex(nil, c.r.next(), 16))+"AA")
	w.close('}')
}
