package activity

import (
	"fmt"
	"strings"
)

// Filter keeps the records whose record type, workload and operation are in
// the given lists; an empty list does not filter, and the lists are ANDed.
// Workloads and operations match case-insensitively.
type Filter struct {
	recordTypes map[RecordType]bool
	workloads   []string
	operations  []string
}

// ParseFilter builds a Filter from comma-separated lists, as the
// record_types_filter, workloads_filter and operations_filter arguments and
// parameters give them: items are trimmed, empty items ignored; record
// types may be names (case-insensitive, historical names accepted) or
// numbers. An unknown record type name is an error suggesting the closest
// names.
func ParseFilter(recordTypes, workloads, operations string) (*Filter, error) {
	f := &Filter{}
	for _, item := range splitList(recordTypes) {
		t, err := ParseRecordType(item)
		if err != nil {
			return nil, fmt.Errorf("record_types_filter: %w", err)
		}
		if f.recordTypes == nil {
			f.recordTypes = map[RecordType]bool{}
		}
		f.recordTypes[t] = true
	}
	f.workloads = splitList(workloads)
	f.operations = splitList(operations)
	return f, nil
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
	if len(f.operations) > 0 && !containsFold(f.operations, r.Operation) {
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
