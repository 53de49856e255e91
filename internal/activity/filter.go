package activity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/catalog"
	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// Filter keeps the records whose record type, workload and operation are in
// the given lists; an empty list does not filter, and the lists are ANDed.
// Workloads match in any case (no two differ only in case); operations
// match exactly, case included, because real records carry operations that
// differ only in case (DlpRuleMatch from the DLP feed, DLPRuleMatch from
// Exchange's own auditing).
type Filter struct {
	recordTypes map[RecordType]bool
	workloads   []string
	operations  []string
}

// Unlisted is the suffix that takes a workload or operation this build
// does not list as given: Microsoft adds values without notice, and
// refusing them would leave no way to filter on them.
const Unlisted = "!"

// ParseFilter builds a Filter from comma-separated lists, as the
// record_types_filter, workloads_filter and operations_filter arguments and
// parameters give them: items are trimmed, empty items ignored; record
// types may be names (case-insensitive, historical names accepted) or
// numbers. A value that is not known is an error suggesting the closest
// known values, so that a typo never filters out every record silently; a
// workload or operation ending in "!" is taken as given without the "!".
func ParseFilter(recordTypes, workloads, operations string) (*Filter, error) {
	return ParseFilterNamed(FilterNames{"record_types_filter", "workloads_filter", "operations_filter"}, recordTypes, workloads, operations)
}

// FilterNames are the names of the three lists, as ParseFilterNamed's
// messages call them.
type FilterNames struct{ RecordTypes, Workloads, Operations string }

// FilterError is a value of one of a filter's lists that is not known:
// "<List>: <Err>".
type FilterError struct {
	List string // the list's name, as FilterNames gives it
	Err  error
}

func (e *FilterError) Error() string { return e.List + ": " + e.Err.Error() }
func (e *FilterError) Unwrap() error { return e.Err }

// ParseFilterNamed is ParseFilter for lists that arrive under other names
// (search-records' record_types, workloads and operations). Its errors are
// *FilterError.
func ParseFilterNamed(names FilterNames, recordTypes, workloads, operations string) (*Filter, error) {
	f := &Filter{}
	for _, item := range splitList(recordTypes) {
		t, err := ParseRecordType(item)
		if err != nil {
			return nil, &FilterError{names.RecordTypes, err}
		}
		if f.recordTypes == nil {
			f.recordTypes = map[RecordType]bool{}
		}
		f.recordTypes[t] = true
	}
	for _, item := range splitList(workloads) {
		w, err := parseWorkload(item)
		if err != nil {
			return nil, &FilterError{names.Workloads, err}
		}
		f.workloads = append(f.workloads, w)
	}
	for _, item := range splitList(operations) {
		op, err := parseOperation(item)
		if err != nil {
			return nil, &FilterError{names.Operations, err}
		}
		f.operations = append(f.operations, op)
	}
	return f, nil
}

// unlisted strips the Unlisted suffix: (value, true) when s carries it.
func unlisted(s string) (string, bool, error) {
	v, ok := strings.CutSuffix(s, Unlisted)
	if !ok {
		return s, false, nil
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", true, fmt.Errorf("%q is empty before the %s", s, Unlisted)
	}
	return v, true, nil
}

func escapeHint(s string) string {
	return fmt.Sprintf("If it is a value Microsoft added after this version, write it with a trailing %s (%s%s) to use it as given.", Unlisted, s, Unlisted)
}

func parseWorkload(s string) (string, error) {
	v, escaped, err := unlisted(s)
	if err != nil || escaped {
		return v, err
	}
	if w, ok := catalog.CanonicalWorkload(v); ok {
		return w, nil
	}
	msg := fmt.Sprintf("%q is not a workload of the Management Activity API", v)
	if sug := suggest.Nearest(v, catalog.Workloads, strings.ToLower, 3); len(sug) > 0 {
		msg += "; did you mean " + strings.Join(sug, ", ") + "?"
	}
	return "", fmt.Errorf("%s (workloads are case-insensitive). %s", msg, escapeHint(v))
}

func parseOperation(s string) (string, error) {
	v, escaped, err := unlisted(s)
	if err != nil || escaped {
		return v, err
	}
	if catalog.KnownOperation(v) {
		return v, nil
	}
	var sameButCase []string
	for _, op := range catalog.AllOperations() {
		if strings.EqualFold(op, v) {
			sameButCase = append(sameButCase, op+" ("+strings.Join(catalog.OperationWorkloads(op), ", ")+")")
		}
	}
	if len(sameButCase) > 0 {
		return "", fmt.Errorf("%q is not an operation as spelled: operations are case-sensitive, as records carry them; did you mean %s?", v, strings.Join(sameButCase, " or "))
	}
	msg := fmt.Sprintf("%q is not an operation of the Management Activity API", v)
	if sug := suggest.Nearest(v, catalog.AllOperations(), strings.ToLower, 3); len(sug) > 0 {
		msg += "; did you mean " + strings.Join(sug, ", ") + "?"
	}
	return "", fmt.Errorf("%s (operations are case-sensitive; Exchange admin operations are cmdlet names such as Set-Mailbox). %s", msg, escapeHint(v))
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Match reports whether the record passes the filter.
func (f *Filter) Match(r *Record) bool {
	if f == nil {
		return true
	}
	if len(f.recordTypes) > 0 && !f.recordTypes[r.RecordType] {
		return false
	}
	if len(f.workloads) > 0 && !containsFold(f.workloads, r.Workload) {
		return false
	}
	if len(f.operations) > 0 && !slices.Contains(f.operations, r.Operation) {
		return false
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
