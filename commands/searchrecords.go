package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/progress"
	"github.com/secops-go/ms-management-activity/internal/search"
)

// searchDeadline bounds one search-records run: a week of five content
// types is thousands of blobs; the deadline grows with a large timeout
// argument. A search that reaches it returns what it found, marked
// incomplete.
const searchDeadline = 15 * time.Minute

// searchTableFields are the human-readable table's columns.
var searchTableFields = []fieldKey{
	{activity.FieldCreationTime, "CreationTime"},
	{activity.FieldUserID, "UserId"},
	{activity.FieldClientIP, "ClientIP"},
	{activity.FieldWorkload, "Workload"},
	{activity.FieldOperation, "Operation"},
	{activity.FieldObjectID, "ObjectId"},
	{activity.FieldResultStatus, "ResultStatus"},
}

// searchRecords is ms-management-activity-search-records: every content
// type's listings over the range plus the lateness margin go through one
// download pool, and each blob's records are matched as they arrive; only
// the matches are kept.
func searchRecords(ctx context.Context, env *Env) (*Result, error) {
	req, err := searchArgs(env)
	if err != nil {
		return nil, err
	}
	lateness, err := env.Params.Lateness()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, max(searchDeadline, 4*req.timeout))
	defer cancel()
	c, err := newActivityClient(ctx, env, req.timeout)
	if err != nil {
		return nil, err
	}
	run := &searchRun{ctx: ctx, req: &req, byID: map[string]int{}, blobsByType: map[string]int{}, skipped: map[string][]skippedBlob{}}
	if mc, ok := env.Progress.(progress.MatchCounter); ok {
		run.matches = mc
	}
	if err := run.pickContentTypes(ctx, c); err != nil {
		return nil, err
	}
	// The subscription list was the first answer: from here on, now is the
	// API's time, whatever the host clock says.
	start, end, list, clamp, err := searchRange(&req, c.ServerClock().Now(), lateness)
	if err != nil {
		return nil, err
	}
	if clamp != "" {
		run.warnings = append(run.warnings, clamp)
	}
	run.start, run.end, run.list = start, end, list
	run.matcher = req.matcher.InRange(start, end)
	var listings []activity.Listing
	for _, ct := range run.types {
		for _, w := range activity.SplitWindow(list[0], list[1]) {
			listings = append(listings, activity.Listing{ContentType: ct, Start: w[0], End: w[1]})
		}
	}
	run.listings = len(listings)
	began := env.Clock.Now()
	err = c.Scan(ctx, listings, run.take)
	run.elapsed = env.Clock.Now().Sub(began)
	switch {
	case err == nil, errors.Is(err, errLimitReached):
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && run.listed > 0:
		// Out of time (the search's deadline or the caller's): what was
		// found is returned, marked incomplete. A cancellation (Ctrl-C)
		// is an error.
		run.timedOut = true
	default:
		return nil, err
	}
	if err := run.nothingWorked(); err != nil {
		return nil, err
	}
	res := run.result()
	if w, ok := skewWarning(env, c); ok {
		res.Entries = append(res.Entries, w)
	}
	return res, nil
}

// searchRun is one search's state while blobs stream by.
type searchRun struct {
	ctx        context.Context // the run's: done means out of time or cancelled
	req        *searchRequest
	matcher    *search.Matcher
	matches    progress.MatchCounter // nil: not shown
	types      []string
	start, end time.Time
	list       [2]time.Time

	kept []keptRecord
	byID map[string]int // record Id → index in kept

	listings, listed int // listings planned, done
	listingErrors    int // listings that failed, whatever the reason
	firstListingErr  error
	blobsListed      int
	blobsRead        int
	records          int
	duplicates       int
	noTime           int
	noTimeIDs        []string // the first few, for the warning
	cut, timedOut    bool
	unsubscribed     []string
	failedListings   []failedListing          // failed after retries
	skipped          map[string][]skippedBlob // by content type
	blobsByType      map[string]int
	warnings         []string
	elapsed          time.Duration
}

type keptRecord struct {
	rec         activity.Record
	at          time.Time
	contentType string
	blob        string // contentCreated + contentId: re-deliveries keep the earliest
}

type failedListing struct {
	listing activity.Listing
	err     error
}

// pickContentTypes settles which content types to search: the given ones
// that are subscribed (the others become a warning), or every enabled
// subscription.
func (s *searchRun) pickContentTypes(ctx context.Context, c *activity.Client) error {
	subs, err := c.ListSubscriptions(ctx)
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, sub := range subs {
		if ct, ok := activity.CanonicalContentType(sub.ContentType); ok && sub.Enabled() {
			enabled[ct] = true
		}
	}
	want := s.req.contentTypes
	if len(want) == 0 {
		want = activity.ContentTypes
		if len(enabled) == 0 {
			return fmt.Errorf("there is nothing to search: no subscription is enabled. Start one with ms-management-activity-start-subscription content_type=Audit.General (content can take up to 12 hours to appear)")
		}
	}
	for _, ct := range want {
		switch {
		case enabled[ct]:
			s.types = append(s.types, ct)
		case len(s.req.contentTypes) > 0:
			s.unsubscribed = append(s.unsubscribed, ct)
		}
	}
	if len(s.types) == 0 {
		return fmt.Errorf("there is nothing to search: %s %s not subscribed. Start a subscription with ms-management-activity-start-subscription, or leave content_types empty to search every enabled subscription", strings.Join(s.unsubscribed, ", "), plural(len(s.unsubscribed), "is", "are"))
	}
	return nil
}

// take is Scan's callback: it counts a listing or matches a blob's records.
func (s *searchRun) take(it activity.ScanItem) error {
	if it.Blob == nil {
		s.listed++
		s.blobsListed += it.Blobs
		if it.Err != nil {
			s.listingFailed(it)
		}
		return nil
	}
	ct := it.Listing.ContentType
	s.blobsByType[ct]++
	if it.Err != nil {
		if s.ctx.Err() != nil {
			return it.Err // the run is over; Scan reports why
		}
		// Failed after retries, expired or unreadable: the search goes on
		// and says it is incomplete.
		s.skipped[ct] = append(s.skipped[ct], skippedBlob{*it.Blob, it.Err})
		return nil
	}
	s.blobsRead++
	blobKey := it.Blob.ContentCreated + " " + it.Blob.ContentID
	for i := range it.Records {
		r := &it.Records[i]
		s.records++
		switch s.matcher.Match(r) {
		case search.NoMatch:
			continue
		case search.NoTime:
			s.noTime++
			if len(s.noTimeIDs) < 5 {
				s.noTimeIDs = append(s.noTimeIDs, fmt.Sprintf("%s (CreationTime %q, in blob %s)", cmp.Or(r.ID, "no Id"), r.CreationTime, it.Blob.ContentID))
			}
			continue
		}
		if k, ok := s.byID[r.ID]; ok && r.ID != "" {
			s.duplicates++
			if blobKey < s.kept[k].blob {
				s.kept[k] = s.keep(r, ct, blobKey)
			}
			continue
		}
		if len(s.kept) == s.req.limit {
			s.cut = true
			return errLimitReached
		}
		if r.ID != "" {
			s.byID[r.ID] = len(s.kept)
		}
		s.kept = append(s.kept, s.keep(r, ct, blobKey))
	}
	if s.matches != nil {
		s.matches.Matches(len(s.kept))
	}
	return nil
}

func (s *searchRun) keep(r *activity.Record, ct, blobKey string) keptRecord {
	at, _ := r.Created() // Match read it already
	return keptRecord{rec: *r, at: at, contentType: ct, blob: blobKey}
}

func (s *searchRun) listingFailed(it activity.ScanItem) {
	s.listingErrors++
	if s.firstListingErr == nil {
		s.firstListingErr = it.Err
	}
	// A subscription stopped since the run began fails every listing of
	// its content type: one warning says so.
	if code := activity.ErrorCode(it.Err); code == "AF20022" || code == "AF20023" {
		if !slices.Contains(s.unsubscribed, it.Listing.ContentType) {
			s.unsubscribed = append(s.unsubscribed, it.Listing.ContentType)
		}
		return
	}
	if s.ctx.Err() != nil {
		return // the run's end, not this listing's failure
	}
	s.failedListings = append(s.failedListings, failedListing{it.Listing, it.Err})
}

// nothingWorked is the error of a search that could list nothing at all.
// (Blobs that cannot be read are warnings: the rest is still searched.)
func (s *searchRun) nothingWorked() error {
	if s.listings > 0 && s.listingErrors == s.listings {
		return fmt.Errorf("the search could not list any content: %w", s.firstListingErr)
	}
	return nil
}

func (s *searchRun) incomplete() []string {
	var why []string
	if len(s.unsubscribed) > 0 {
		why = append(why, fmt.Sprintf("%s %s not subscribed", strings.Join(s.unsubscribed, ", "), plural(len(s.unsubscribed), "is", "are")))
	}
	if n := len(s.failedListings); n > 0 {
		why = append(why, fmt.Sprintf("%d %s failed", n, plural(n, "listing", "listings")))
	}
	skipped := 0
	for _, sk := range s.skipped {
		skipped += len(sk)
	}
	if skipped > 0 {
		why = append(why, fmt.Sprintf("%d %s could not be read", skipped, plural(skipped, "content blob", "content blobs")))
	}
	if s.timedOut {
		why = append(why, "the search ran out of time")
	}
	return why
}

// result builds the entry and the warnings.
func (s *searchRun) result() *Result {
	slices.SortStableFunc(s.kept, func(a, b keptRecord) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.rec.ID, b.rec.ID), strings.Compare(a.contentType, b.contentType))
	})
	raw := make([]json.RawMessage, len(s.kept))
	ctxs := make([]json.RawMessage, len(s.kept))
	var arena []byte
	for i := range s.kept {
		k := &s.kept[i]
		raw[i] = k.rec.Raw
		if cap(arena)-len(arena) < 4<<10 {
			arena = make([]byte, 0, 256<<10)
		}
		from := len(arena)
		arena = appendRecordContext(arena, &k.rec, k.contentType)
		ctxs[i] = arena[from:len(arena):len(arena)]
	}
	entries := []xcontext.Entry{xcontext.Note(raw, s.humanReadable(), map[string]any{xcontext.ContentRecordKey: ctxs})}
	for _, w := range s.warningTexts() {
		entries = append(entries, xcontext.Warning(w))
	}
	return &Result{Entries: entries}
}

func (s *searchRun) humanReadable() string {
	f := activity.FormatTime
	var b strings.Builder
	title := fmt.Sprintf("Records matching %s from %s to %s", describeCriteria(s.req.criteria), f(s.start), f(s.end))
	if len(s.kept) == 0 {
		b.WriteString(xcontext.Table(title, nil, nil))
	} else {
		writeTableHead(&b, title, searchTableFields)
		for i := range s.kept {
			r := &s.kept[i].rec
			b.WriteString("| ")
			for j, c := range searchTableFields {
				if j > 0 {
					b.WriteString(" | ")
				}
				if v := r.Field(c.field); !emptyJSON(v) {
					b.WriteString(xcontext.EscapeMD(cellText(v)))
				}
			}
			b.WriteString(" |\n")
		}
	}
	b.WriteString(s.summaryTable())
	b.WriteString("\n")
	b.WriteString(s.scannedLine())
	if s.cut {
		fmt.Fprintf(&b, "\n\nThe search stopped at the limit of %d records and did not download the rest: more records matched. Narrow the time range or add filters", s.req.limit)
		if s.req.limit < MaxSearchLimit {
			fmt.Fprintf(&b, ", or raise limit (at most %d)", MaxSearchLimit)
		}
		b.WriteString(".")
	}
	if why := s.incomplete(); len(why) > 0 {
		fmt.Fprintf(&b, "\n\n**The search is incomplete**: %s; see the warnings. Records from what could not be read are not in the list.", strings.Join(why, "; "))
	}
	b.WriteString("\n")
	return b.String()
}

// summaryTable counts the matches per workload and operation, most first.
func (s *searchRun) summaryTable() string {
	type key struct{ workload, operation string }
	counts := map[key]int{}
	for i := range s.kept {
		r := &s.kept[i].rec
		counts[key{r.Workload, r.Operation}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(-cmp.Compare(counts[a], counts[b]), strings.Compare(a.workload, b.workload), strings.Compare(a.operation, b.operation))
	})
	rows := make([]xcontext.Row, len(keys))
	for i, k := range keys {
		rows[i] = xcontext.Row{"Workload": k.workload, "Operation": k.operation, "Records": counts[k]}
	}
	return xcontext.Table("Matches by workload and operation", rows, []string{"Workload", "Operation", "Records"})
}

// scannedLine says what the search covered.
func (s *searchRun) scannedLine() string {
	f := activity.FormatTime
	var b strings.Builder
	blobs := progress.Thousands(s.blobsRead) + " " + plural(s.blobsRead, "blob", "blobs")
	if s.blobsRead != s.blobsListed {
		blobs = fmt.Sprintf("%s of %s listed blobs read", progress.Thousands(s.blobsRead), progress.Thousands(s.blobsListed))
	}
	fmt.Fprintf(&b, "Scanned %d content %s (%s): %s %s of content made available from %s to %s (the range plus the search_lateness margin, up to now), %s, %s %s in %s; %s %s",
		len(s.types), plural(len(s.types), "type", "types"), strings.Join(s.types, ", "),
		progress.Thousands(s.listed), plural(s.listed, "listing", "listings"), f(s.list[0]), f(s.list[1]), blobs,
		progress.Thousands(s.records), plural(s.records, "record", "records"),
		s.elapsed.Round(100*time.Millisecond), progress.Thousands(len(s.kept)), plural(len(s.kept), "match", "matches"))
	if s.duplicates > 0 {
		fmt.Fprintf(&b, " (%s re-delivered %s shown once)", progress.Thousands(s.duplicates), plural(s.duplicates, "copy", "copies"))
	}
	b.WriteString(".")
	return b.String()
}

func (s *searchRun) warningTexts() []string {
	out := slices.Clone(s.warnings)
	if len(s.unsubscribed) > 0 {
		out = append(out, fmt.Sprintf("Not searched: %s %s not subscribed. Start a subscription with ms-management-activity-start-subscription (content can take up to 12 hours to appear).", strings.Join(s.unsubscribed, ", "), plural(len(s.unsubscribed), "is", "are")))
	}
	if len(s.failedListings) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d content listings failed after retries; the blobs they would have listed were not searched:", len(s.failedListings), s.listings)
		for i, fl := range s.failedListings {
			if i == 10 {
				fmt.Fprintf(&b, "\n- and %d more", len(s.failedListings)-10)
				break
			}
			fmt.Fprintf(&b, "\n- %s %s – %s: %v", fl.listing.ContentType, activity.FormatTime(fl.listing.Start), activity.FormatTime(fl.listing.End), fl.err)
		}
		out = append(out, b.String())
	}
	for _, ct := range s.types {
		if sk := s.skipped[ct]; len(sk) > 0 {
			out = append(out, strings.Replace(skippedMessage(ct, s.blobsByType[ct], sk), "are not in the list", "were not searched", 1))
		}
	}
	if s.noTime > 0 {
		msg := fmt.Sprintf("%d %s matched the filters but %s no readable CreationTime, so whether %s in the time range is unknown; %s not in the list: %s",
			s.noTime, plural(s.noTime, "record", "records"), plural(s.noTime, "has", "have"), plural(s.noTime, "it lies", "they lie"), plural(s.noTime, "it is", "they are"), strings.Join(s.noTimeIDs, ", "))
		if s.noTime > len(s.noTimeIDs) {
			msg += fmt.Sprintf(" and %d more", s.noTime-len(s.noTimeIDs))
		}
		out = append(out, msg+".")
	}
	if s.timedOut {
		out = append(out, fmt.Sprintf("The search ran out of time after %s (%s of %s listings done, %s of %s listed blobs read); the list holds what was found until then. Narrow the time range or the content types.",
			s.elapsed.Round(time.Second), progress.Thousands(s.listed), progress.Thousands(s.listings), progress.Thousands(s.blobsRead), progress.Thousands(s.blobsListed)))
	}
	return out
}

// describeCriteria names the filters for the table's title.
func describeCriteria(c search.Criteria) string {
	var parts []string
	add := func(name string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, name+" "+strings.Join(vals, ", "))
		}
	}
	add("user_ids", c.UserIDs)
	add("client_ips", c.ClientIPs)
	add("object_ids", c.ObjectIDs)
	add("operations", c.Operations)
	add("record_types", c.RecordTypes)
	add("workloads", c.Workloads)
	add("result_status", c.ResultStatus)
	if q := strings.TrimSpace(c.Query); q != "" {
		parts = append(parts, fmt.Sprintf("query %q", q))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
