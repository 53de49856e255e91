package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/fetch"
)

// fetchDeadline bounds one fetch run. When it passes mid-run, the incidents
// already collected are returned with a lastRun that continues exactly
// after them, so a slow tenant still makes progress.
const fetchDeadline = 10 * time.Minute

// fetchIncidents is fetch-incidents: see package fetch for the algorithm
// and the lastRun format.
func fetchIncidents(ctx context.Context, env *Env) (*Result, error) {
	p := env.Params
	overlap, err := p.Overlap()
	if err != nil {
		return nil, err
	}
	firstFetch, err := p.FirstFetch()
	if err != nil {
		return nil, err
	}
	filter, err := p.Filter()
	if err != nil {
		// Before any request: a filter that could match nothing would
		// move the cursor past records it never delivered.
		return nil, inSentence("", err, "Fix the parameter; nothing was fetched and the next run starts from the same position.")
	}
	prev, err := fetch.Decode(env.LastRun)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchDeadline)
	defer cancel()
	c, err := newActivityClient(ctx, env, 0)
	if err != nil {
		return nil, err
	}
	cts, err := fetchContentTypes(ctx, env, c)
	if err != nil {
		return nil, err
	}
	server := c.ServerClock()
	if _, ok := server.Offset(); !ok {
		// Windows, the 7-day limit and the cursor are the API's times:
		// learn its clock before planning them (one cheap request). When
		// it fails, the listings that follow say why, and each answer
		// updates the clock.
		if _, err := c.ListSubscriptions(ctx); err != nil {
			env.Logger.Debug("reading the API's clock failed; listings will", "error", err)
		}
	}
	out := fetch.Run(ctx, c, prev, fetch.Options{
		Server:       server,
		Now:          env.Clock.Now(),
		ContentTypes: cts,
		Overlap:      overlap,
		FirstFetch:   firstFetch,
		MaxFetch:     p.MaxFetch,
		Filter:       filter,
		Logger:       env.Logger,
		ReadAhead:    p.DownloadConcurrency,
	})
	if out.Err != nil && len(out.Items) == 0 {
		// Nothing delivered: fail, so the engine shows the error and keeps
		// the previous lastRun; the next run starts from the same position.
		return nil, fmt.Errorf("%v (nothing was lost: the next run starts from the same position)", out.Err)
	}
	if out.Err != nil {
		env.Logger.Warn("fetch stopped early; the incidents collected are returned and the next run continues after them", "error", out.Err.Error())
	}
	lastRun, err := out.State.Encode(out.Diagnostics)
	if err != nil {
		return nil, err
	}
	res := &Result{Incidents: toIncidents(out.Items, p.IncidentType), LastRun: lastRun}
	for _, w := range out.Warnings {
		res.Entries = append(res.Entries, xcontext.Warning(w))
	}
	return res, nil
}

// fetchContentTypes returns the content_types_to_fetch param, canonically
// spelled, or, when it is empty, the enabled subscriptions.
func fetchContentTypes(ctx context.Context, env *Env, c *activity.Client) ([]string, error) {
	out, err := env.Params.FetchContentTypes()
	if err != nil || len(out) > 0 {
		return out, err
	}
	subs, err := c.ListSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	enabled := map[string]bool{}
	for _, s := range subs {
		if ct, ok := activity.CanonicalContentType(s.ContentType); ok && s.Enabled() {
			enabled[ct] = true
		}
	}
	// Canonical order, so ties between content types merge the same way
	// every run.
	for _, ct := range activity.ContentTypes {
		if enabled[ct] {
			out = append(out, ct)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("there is nothing to fetch: no subscription is enabled and content_types_to_fetch is empty. Start a subscription with ms-management-activity-start-subscription content_type=Audit.General (content can take up to 12 hours to appear) or set content_types_to_fetch")
	}
	return out, nil
}

// toIncidents turns the run's records into incidents, sorted by
// CreationTime (stable, so equal times keep listing order).
func toIncidents(items []fetch.Item, incidentType string) []Incident {
	// Sort small (time, index) keys, not the incidents themselves: moving
	// 10000 incidents through a reflective swapper cost more than building
	// them.
	type key struct {
		at time.Time
		i  int
	}
	keys := make([]key, len(items))
	for i := range items {
		at, err := items[i].Record.Created()
		if err != nil {
			// Unparseable CreationTime: when the blob became available is
			// the best upper bound there is.
			at = items[i].BlobCreated
		}
		keys[i] = key{at, i}
	}
	slices.SortStableFunc(keys, func(a, b key) int { return a.at.Compare(b.at) })
	out := make([]Incident, len(items))
	for k, key := range keys {
		r := &items[key.i].Record
		name := strings.Join(strings.Fields(r.Workload+" "+r.Operation), " ")
		if name == "" {
			name = "record"
		}
		id := r.ID
		if id == "" {
			id = "no Id"
		}
		out[k] = Incident{
			Name:     "Microsoft Management Activity: " + name + " (" + id + ")",
			Occurred: key.at.UTC().Format(time.RFC3339Nano),
			// The record's Raw is immutable (its string fields share it),
			// so the string can share it too instead of copying it.
			RawJSON:      unsafe.String(unsafe.SliceData(r.Raw), len(r.Raw)),
			Type:         incidentType,
			DbotMirrorID: r.ID,
		}
	}
	return out
}
