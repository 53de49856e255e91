package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/secops-go/ms-management-activity/commands"
	"github.com/secops-go/ms-management-activity/internal/emulator"
	"github.com/secops-go/ms-management-activity/internal/fetch"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// demoTenant is the emulated tenant the demo and the emulator command serve.
type demoTenant struct {
	srv      *emulator.Server
	tenant   string
	clientID string
	secret   string
	records  int
	blobs    int
}

// demoContentTypes are subscribed from the start; DLP.All is left for the
// demo's start-subscription step.
var demoContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General"}

// seedDemoTenant fills srv with the demo tenant: four subscriptions, data
// for all five content types over the last day (the emulator's
// DemoGeneration: a few thousand records, late blobs, re-deliveries), and a
// self-deployed app registration with a client secret.
func seedDemoTenant(srv *emulator.Server) *demoTenant {
	d := &demoTenant{srv: srv, tenant: emulator.DemoTenantID, clientID: "d3m0a991-6b1e-4c55-9a3e-5c0ffee00001", secret: "demo-secret-" + randHex(12)}
	for _, ct := range demoContentTypes {
		srv.Subscribe(d.tenant, ct)
	}
	g := emulator.DemoGeneration()
	g.Start = srv.Now().Add(-g.Span - g.Delay)
	// The preset re-delivers records from any earlier blob, up to a day
	// later; fetch recognizes a re-delivery within fetch_overlap (1 hour by
	// default) of the first one. The demo re-delivers within that window
	// itself (addLateBlob), where the service does it in practice.
	g.DuplicateFraction = 0
	gen := srv.Generate(d.tenant, g)
	d.records, d.blobs = gen.Records, gen.Blobs
	srv.RegisterApp(emulator.App{TenantID: d.tenant, ClientID: d.clientID, Secret: d.secret})
	return d
}

// paramsYAML is the params file a user writes to point the command line at
// the emulator (client credentials of a self-deployed app; the secret comes
// from MSMA_CLIENT_SECRET).
func (d *demoTenant) paramsYAML(tls bool) string { return d.paramsYAMLAt(d.srv.URL, tls) }

// paramsYAMLAt is paramsYAML for the emulator reached at url.
func (d *demoTenant) paramsYAMLAt(url string, tls bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "base_url: %s/api/v1.0/\n", url)
	fmt.Fprintf(&b, "authority_url: %s       # the emulator's Entra ID token endpoint\n", url)
	b.WriteString("self_deployed: true\n")
	fmt.Fprintf(&b, "credentials_auth_id: %s        # Application (client) ID\n", d.clientID)
	fmt.Fprintf(&b, "credentials_refresh_token: %s  # Tenant ID\n", d.tenant)
	if tls {
		b.WriteString("insecure: true              # the emulator's certificate is self-signed\n")
	}
	b.WriteString("content_types_to_fetch: [Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General]\n")
	b.WriteString("first_fetch_delta: 1 day\n")
	b.WriteString("max_fetch: 1500\n")
	return b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// demoStep is one command of the walkthrough.
type demoStep struct {
	title string
	argv  []string
}

// demoOptions are the demo command's flags.
type demoOptions struct {
	maxRows int // of each table a step prints
	help    bool
}

// demoUsage is demo --help.
const demoUsage = `usage: ms-management-activity demo [--max-rows N]

Runs the whole integration against the built-in emulator of the API (no
tenant, no setup): test-module, list-subscriptions, start-subscription,
list-content with a filter and two fetch-incidents runs, printing each
command line and its output.
  --max-rows N   rows shown of each table (default 8)
`

// parseDemoArgs parses [--max-rows N].
func parseDemoArgs(argv []string) (demoOptions, error) {
	o := demoOptions{maxRows: 8}
	for i := 0; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "--max-rows" && i+1 < len(argv):
			fmt.Sscan(argv[i+1], &o.maxRows)
			i++
		case strings.HasPrefix(a, "--max-rows="):
			fmt.Sscan(strings.TrimPrefix(a, "--max-rows="), &o.maxRows)
		case a == "-h" || a == "--help":
			o.help = true
		default:
			return o, &usageError{fmt.Sprintf("demo does not take %q", a), "usage: ms-management-activity demo [--max-rows N]"}
		}
	}
	return o, nil
}

// demo runs the walkthrough: the emulator in-process on loopback, then the
// main commands through the real command line and dispatcher, as a user
// would type them.
func (a *app) demo(ctx context.Context, o demoOptions) int {
	start := time.Now()
	srv := emulator.NewTLSServer()
	defer srv.Close()
	d := seedDemoTenant(srv)

	dir, err := os.MkdirTemp("", "ms-management-activity-demo-")
	if err != nil {
		return a.fail(fmt.Errorf("demo: %w", err), commands.ExitFailed)
	}
	defer os.RemoveAll(dir)
	paramsFile := filepath.Join(dir, "params.yml")
	stateDir := filepath.Join(dir, "state")
	if err := os.WriteFile(paramsFile, []byte(d.paramsYAML(true)), 0o600); err != nil {
		return a.fail(fmt.Errorf("demo: %w", err), commands.ExitFailed)
	}

	// The commands run as a user's would: same command line, same
	// dispatcher, same HTTP client and auth flow; only the secret's
	// environment variable is the demo's.
	env := a.getenv
	run := *a
	run.getenv = func(k string) string {
		if k == "MSMA_CLIENT_SECRET" {
			return d.secret
		}
		if strings.HasPrefix(k, "MSMA_") && k != "MSMA_LOG_LEVEL" {
			return "" // the user's own credentials stay out of the demo
		}
		return env(k)
	}

	say := func(md string) { io.WriteString(a.io.Out, a.io.render(md, 0)) }
	say(fmt.Sprintf(`# ms-management-activity demo

The built-in emulator of the Office 365 Management Activity API is listening on %s, with a
tenant holding %s audit records in %s content blobs over the last day (some blobs arrive late,
as in the real service). Each step below is a command you can type yourself;
"ms-management-activity emulator" serves the same tenant.

params.yml (the secret is in the environment: MSMA_CLIENT_SECRET):

%s
`, srv.URL, progress.Thousands(d.records), progress.Thousands(d.blobs), indent(d.paramsYAML(true), "    ")))

	flags := []string{"--params", paramsFile, "--state", stateDir}
	// The commands as a user types them: params.yml, and --state alone
	// (the default state folder) for the demo's temporary one.
	shown := func(argv []string) string {
		var parts []string
		for _, a := range argv {
			if a == stateDir {
				continue
			}
			parts = append(parts, strings.ReplaceAll(a, paramsFile, "params.yml"))
		}
		return "ms-management-activity " + strings.Join(parts, " ")
	}
	steps := []demoStep{
		{"Check the connection and the credentials", []string{"test-module"}},
		{"See which content types the tenant is subscribed to", []string{"list-subscriptions"}},
		{"Subscribe to DLP events too", []string{"start-subscription", "content_type=DLP.All"}},
		{"List Exchange admin operations of the last 24 hours (a record type filter)", []string{"list-content", "content_type=Audit.Exchange", "record_types_filter=ExchangeAdmin"}},
		{"Fetch incidents: the first run starts from first_fetch_delta and stops at max_fetch", []string{"fetch-incidents"}},
		{"Fetch again: the second run continues where the first stopped, up to now; it picks up a blob that arrived late and skips the three records that blob re-delivers", []string{"fetch-incidents"}},
	}
	var fetches [][]commands.Incident
	var cursors []map[string]string
	for i, st := range steps {
		if i == len(steps)-1 && len(fetches) > 0 {
			addLateBlob(d, fetches[0])
		}
		argv := append(append([]string{}, st.argv...), flags...)
		say(fmt.Sprintf("\n## %d. %s\n\n    $ %s\n\n", i+1, st.title, shown(argv)))
		co, err := parseCommandLine(argv)
		if err != nil {
			return a.fail(err, commands.ExitBadEnvelope)
		}
		co.maxRows, co.quietNotes = o.maxRows, true
		out, code := run.execute(ctx, co)
		if code != commands.ExitOK {
			fmt.Fprintf(a.io.Err, "demo: step %d (%s) exited with code %d\n", i+1, st.argv[0], code)
			return code
		}
		if st.argv[0] == commands.CmdFetchIncidents && out != nil && out.Incidents != nil {
			fetches = append(fetches, *out.Incidents)
			cursors = append(cursors, readCursors(filepath.Join(stateDir, lastRunFile)))
		}
	}
	say(fetchSummary(fetches, cursors))
	say(fmt.Sprintf("\nDone in %s. Next: \"ms-management-activity help\", or \"ms-management-activity emulator\" to try the commands yourself.\n", time.Since(start).Round(10*time.Millisecond)))
	return commands.ExitOK
}

// addLateBlob makes a content blob available half an hour ago whose events
// happened earlier still, as the service does when its pipeline lags (a
// fetch that only listed content after its cursor would miss it), and that
// re-delivers the last three records of the previous fetch (which must not
// become incidents twice).
func addLateBlob(d *demoTenant, previous []commands.Incident) {
	now := d.srv.Now()
	var recs []json.RawMessage
	for _, inc := range previous[max(0, len(previous)-3):] {
		recs = append(recs, json.RawMessage(inc.RawJSON))
	}
	ops := []string{"New-InboxRule", "Set-Mailbox", "Add-MailboxPermission", "Set-TransportRule"}
	for i := range 12 {
		at := now.Add(-40*time.Minute + time.Duration(i)*time.Minute)
		rec := map[string]any{
			"CreationTime":   at.UTC().Format("2006-01-02T15:04:05"),
			"Id":             fmt.Sprintf("1a7e0000-%s-4000-8000-%s", randHex(2), randHex(6)),
			"Operation":      ops[i%len(ops)],
			"OrganizationId": d.tenant,
			"RecordType":     1,
			"ResultStatus":   "True",
			"UserKey":        "10032000A1B2C3D4",
			"UserType":       2,
			"Version":        1,
			"Workload":       "Exchange",
			"ClientIP":       "203.0.113.77",
			"ObjectId":       "late.arrival@contoso.onmicrosoft.com",
			"UserId":         "admin@contoso.onmicrosoft.com",
		}
		b, _ := json.Marshal(rec)
		recs = append(recs, b)
	}
	d.srv.AddBlob(d.tenant, "Audit.Exchange", now.Add(-30*time.Minute), recs...)
}

// readCursors reads each stream's cursor from a lastRun file (empty when the
// file or the field is not there).
func readCursors(path string) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	if st, err := fetch.Decode(data); err == nil && st != nil {
		for ct, s := range st.Streams {
			out[ct] = wireTime(s.Cursor)
		}
	}
	return out
}

// incidentRecordID is the record's Id inside an incident's rawJSON.
func incidentRecordID(inc commands.Incident) string {
	var r struct {
		ID string `json:"Id"`
	}
	_ = json.Unmarshal([]byte(inc.RawJSON), &r)
	return r.ID
}

// fetchSummary compares the fetch runs: incidents per run, the records two
// runs both delivered (there must be none), and how each cursor moved.
func fetchSummary(fetches [][]commands.Incident, cursors []map[string]string) string {
	var b strings.Builder
	b.WriteString("\n## What the two fetches did\n\n")
	seen := map[string]int{}
	dups := 0
	for i, f := range fetches {
		for _, inc := range f {
			id := incidentRecordID(inc)
			if _, ok := seen[id]; ok {
				dups++
			}
			seen[id] = i
		}
	}
	b.WriteString("|run|incidents|\n|---|---|\n")
	for i, f := range fetches {
		fmt.Fprintf(&b, "| fetch %d | %s |\n", i+1, progress.Thousands(len(f)))
	}
	fmt.Fprintf(&b, "\nRecords delivered more than once: **%d** (out of %s distinct records).\n\n", dups, progress.Thousands(len(seen)))
	if len(cursors) >= 2 {
		var cts []string
		for ct := range cursors[len(cursors)-1] {
			cts = append(cts, ct)
		}
		sort.Strings(cts)
		b.WriteString("|content type|cursor after fetch 1|cursor after fetch 2|\n|---|---|---|\n")
		for _, ct := range cts {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", ct, cursors[0][ct], cursors[1][ct])
		}
	}
	return b.String()
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
