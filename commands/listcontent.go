package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	xcontext "github.com/secops-go/ms-management-activity/context"
	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/progress"
)

// fieldKey names a record field (activity.Field*) in an output.
type fieldKey struct {
	field int
	key   string
}

// contentRecordFields maps the record fields to the ContentRecord context
// keys, in the reference integration's order (build_event_context).
var contentRecordFields = []fieldKey{
	{activity.FieldCreationTime, "CreationTime"},
	{activity.FieldID, "ID"},
	{activity.FieldRecordType, "RecordType"},
	{activity.FieldOperation, "Operation"},
	{activity.FieldOrganizationID, "OrganizationID"},
	{activity.FieldUserType, "UserType"},
	{activity.FieldUserKey, "UserKey"},
	{activity.FieldWorkload, "Workload"},
	{activity.FieldResultStatus, "ResultsStatus"},
	{activity.FieldObjectID, "ObjectID"},
	{activity.FieldUserID, "UserID"},
	{activity.FieldClientIP, "ClientIP"},
	{activity.FieldScope, "Scope"},
}

// contentTableFields are the human-readable table's columns.
var contentTableFields = []fieldKey{
	{activity.FieldID, "ID"},
	{activity.FieldCreationTime, "CreationTime"},
	{activity.FieldWorkload, "Workload"},
	{activity.FieldOperation, "Operation"},
}

var errLimitReached = errors.New("limit reached")

// listContentDeadline bounds one list-content run, so it never hangs even
// when every request is slow but within its own timeout; it grows with a
// large timeout argument.
const listContentDeadline = 5 * time.Minute

// listContent is ms-management-activity-list-content.
func listContent(ctx context.Context, env *Env) (*Result, error) {
	a, err := listContentArgs(env)
	if err != nil {
		return nil, err
	}
	ct, filter, limit := a.contentType, a.filter, a.limit
	ctx, cancel := context.WithTimeout(ctx, max(listContentDeadline, 4*a.timeout))
	defer cancel()
	c, err := newActivityClient(ctx, env, a.timeout)
	if err != nil {
		return nil, err
	}
	blobs, err := c.ListContent(ctx, ct, a.start, a.end)
	if err != nil {
		return nil, err
	}
	defer c.ReleaseListing(blobs) // charged to the run's memory budget meanwhile
	out := newContentOutput("Content for content type " + ct)
	var skipped []skippedBlob
	downloaded := 0
	err = c.Download(ctx, blobs, func(b activity.Blob, recs []activity.Record, err error) error {
		downloaded++
		if err != nil {
			if activity.IsSkippable(err) {
				skipped = append(skipped, skippedBlob{b, err})
				return nil
			}
			return err
		}
		for i := range recs {
			r := &recs[i]
			if !filter.Match(r) {
				continue
			}
			if out.count == limit {
				out.cut = true
				return errLimitReached
			}
			out.add(r)
		}
		return nil
	})
	// Out of time while downloading (the engine's budget or the command's
	// deadline): what was downloaded is shown, with a warning that says the
	// list is incomplete, rather than nothing.
	incomplete := ""
	if err != nil && !errors.Is(err, errLimitReached) {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, err
		}
		incomplete = fmt.Sprintf("The list of %s is incomplete: the command ran out of time after %s of %s content blobs (%s %s shown). "+
			"Narrow start_time/end_time or add filters to see the rest.", ct, progress.Thousands(downloaded), progress.Thousands(len(blobs)), progress.Thousands(out.count), plural(out.count, "record", "records"))
		env.Logger.Warn("list-content stopped at its deadline; returning the records so far", "blobs_done", downloaded, "blobs", len(blobs), "records", out.count)
	}
	hr := out.humanReadable()
	if incomplete != "" {
		hr += "\n" + incomplete + "\n"
	}
	if out.cut {
		if limit == MaxListLimit {
			hr += fmt.Sprintf("\nThe list was cut at %d records, the most one call returns; more records matched. Narrow start_time/end_time or add filters to see the rest.\n", limit)
		} else {
			hr += fmt.Sprintf("\nThe list was cut at the limit of %d records; more records matched. Raise limit (at most %d) to see more.\n", limit, MaxListLimit)
		}
	}
	entries := []xcontext.Entry{xcontext.Note(out.contents(), hr, map[string]any{xcontext.ContentRecordKey: out.context()})}
	if len(skipped) > 0 {
		entries = append(entries, xcontext.Warning(skippedMessage(ct, len(blobs), skipped)))
	}
	if incomplete != "" {
		entries = append(entries, xcontext.Warning(incomplete))
	}
	if w, ok := skewWarning(env, c); ok {
		entries = append(entries, w)
	}
	return &Result{Entries: entries}, nil
}

// contentOutput builds the entry's three parts while records stream by:
// Contents (the records' raw JSON, shared, not copied), the ContentRecord
// context list and the markdown table; nothing else of a record is kept
// after its blob.
type contentOutput struct {
	raw   []json.RawMessage // the records' own Raw: no copy
	ctx   []json.RawMessage // each a slice of arena
	arena []byte
	hr    strings.Builder
	title string
	count int
	cut   bool
}

func newContentOutput(title string) *contentOutput {
	o := &contentOutput{title: title, raw: []json.RawMessage{}, ctx: []json.RawMessage{}}
	return o
}

func (o *contentOutput) add(r *activity.Record) {
	o.count++
	o.raw = append(o.raw, r.Raw)

	// Context objects are written into large shared chunks (a fresh one
	// when little room is left) instead of one growing buffer, so building
	// 100000 of them copies nothing twice.
	if cap(o.arena)-len(o.arena) < 4<<10 {
		o.arena = make([]byte, 0, 256<<10)
	}
	start := len(o.arena)
	a := appendRecordContext(o.arena, r, "")
	o.ctx = append(o.ctx, a[start:len(a):len(a)])
	o.arena = a

	o.hr.WriteString("| ")
	for i, f := range contentTableFields {
		if i > 0 {
			o.hr.WriteString(" | ")
		}
		v := r.Field(f.field)
		if emptyJSON(v) {
			continue // not in the context object: an empty cell
		}
		o.hr.WriteString(xcontext.EscapeMD(tableCell(r, f.field, v)))
	}
	o.hr.WriteString(" |\n")
}

// appendRecordContext appends r's ContentRecord context object: the mapped
// keys the record has a non-empty value for, then ContentType when it is
// not "".
func appendRecordContext(a []byte, r *activity.Record, contentType string) []byte {
	a = append(a, '{')
	first := true
	for _, f := range contentRecordFields {
		v := r.Field(f.field)
		if emptyJSON(v) {
			continue // assign_params drops None, "", [], {}
		}
		if !first {
			a = append(a, ',')
		}
		first = false
		a = append(a, '"')
		a = append(a, f.key...)
		a = append(a, '"', ':')
		a = append(a, v...)
	}
	if contentType != "" {
		if !first {
			a = append(a, ',')
		}
		a = append(a, `"ContentType":`...)
		a = strconv.AppendQuote(a, contentType)
	}
	return append(a, '}')
}

// tableCell is the text of a table column: the record's decoded string
// (shared with its Raw, no copy) when the value is a JSON string.
func tableCell(r *activity.Record, field int, v json.RawMessage) string {
	if v[0] == '"' {
		switch field {
		case activity.FieldID:
			return r.ID
		case activity.FieldCreationTime:
			return r.CreationTime
		case activity.FieldWorkload:
			return r.Workload
		case activity.FieldOperation:
			return r.Operation
		}
	}
	return cellText(v)
}

// cellText renders a raw JSON value as tableToMarkdown's formatCell does.
func cellText(v json.RawMessage) string {
	if len(v) > 0 && v[0] == '"' {
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1])
		}
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if dec.Decode(&x) != nil {
		return string(v)
	}
	return xcontext.FormatCell(x)
}

// emptyJSON reports whether a raw value is absent, null, "", [] or {}.
func emptyJSON(v json.RawMessage) bool {
	switch len(v) {
	case 0:
		return true
	case 2:
		s := string(v)
		return s == `""` || s == "[]" || s == "{}"
	case 4:
		return string(v) == "null"
	}
	if v[0] == '[' || v[0] == '{' {
		return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
	}
	return false
}

func (o *contentOutput) contents() []json.RawMessage { return o.raw }

func (o *contentOutput) context() []json.RawMessage { return o.ctx }

func (o *contentOutput) humanReadable() string {
	if o.count == 0 {
		return xcontext.Table(o.title, nil, nil)
	}
	var b strings.Builder
	b.Grow(len(o.title) + 64 + o.hr.Len())
	writeTableHead(&b, o.title, contentTableFields)
	b.WriteString(o.hr.String())
	return b.String()
}

// writeTableHead writes a markdown table's title, header and separator
// rows, as tableToMarkdown does; the rows follow.
func writeTableHead(b *strings.Builder, title string, cols []fieldKey) {
	b.WriteString("### ")
	b.WriteString(title)
	b.WriteString("\n|")
	for _, c := range cols {
		b.WriteString(c.key)
		b.WriteByte('|')
	}
	b.WriteString("\n|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
}

type skippedBlob struct {
	blob activity.Blob
	err  error
}

// blobFailure says briefly why a blob could not be used.
func blobFailure(err error) string {
	var ae *activity.APIError
	var ce *activity.ContentError
	switch {
	case errors.As(err, &ae):
		reason := ae.Code
		if ae.Code == "" {
			reason = fmt.Sprintf("HTTP %d", ae.Status)
		}
		return reason + ": " + ae.Hint()
	case errors.As(err, &ce):
		return ce.Reason
	}
	return err.Error()
}

// skippedMessage is the warning entry's text about blobs that could not be
// used.
func skippedMessage(ct string, total int, skipped []skippedBlob) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Skipped %d of %d content blobs of %s; their records are not in the list:", len(skipped), total, ct)
	const show = 10
	for i, s := range skipped {
		if i == show {
			fmt.Fprintf(&b, "\n- and %d more", len(skipped)-show)
			break
		}
		reason := blobFailure(s.err)
		fmt.Fprintf(&b, "\n- %s (created %s): %s", s.blob.ContentID, s.blob.ContentCreated, reason)
	}
	return b.String()
}
