package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// TestSearchExampleStaysInTheWindow: help search-records showed fixed
// dates (2026-11-25 to 2026-11-28), refused once they were more than 7
// days old. start_time and end_time take absolute UTC times only, so the
// example is dated when help prints it: the last 3 days.
func TestSearchExampleStaysInTheWindow(t *testing.T) {
	now := time.Date(2027, 3, 14, 15, 9, 26, 0, time.UTC)
	var out, errb testutil.SyncBuffer
	cfg := testConfig(t, func(string) string { return "" })
	cfg.Clock = clock.NewFake(now)
	if code := Run(context.Background(), []string{"help", "search-records"}, &Streams{Out: &out, Err: &errb}, cfg); code != 0 {
		t.Fatalf("help search-records: exit %d: %s", code, errb.String())
	}
	want := "search-records user_ids=alice@contoso.com start_time=2027-03-11T15:00:00 end_time=2027-03-14T15:00:00 --params params.yml"
	if !strings.Contains(out.String(), want) {
		t.Errorf("help search-records lacks %q:\n%s", want, out.String())
	}

	// The example, as printed now, is accepted.
	paramsFile := startEmulatorCommand(t)
	help := runCLI(t, nil, false, "help", "search-records")
	var argv []string
	for _, l := range strings.Split(help.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "ms-management-activity" && f[1] == "search-records" {
			argv = f[1:]
		}
	}
	if len(argv) == 0 {
		t.Fatalf("no example in:\n%s", help.stdout)
	}
	for i, a := range argv {
		if a == "params.yml" {
			argv[i] = paramsFile
		}
	}
	if r := runCLI(t, map[string]string{"MSMA_CLIENT_SECRET": emulatorSecret}, false, argv...); r.code != 0 {
		t.Errorf("%v: exit %d\n%s", argv, r.code, r.stderr)
	}
}
