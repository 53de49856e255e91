package activity

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/catalog"
	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// RecordType is an AuditLogRecordType value (MS-SCHEMA). The enum is open:
// Microsoft keeps adding values, so any int is a valid RecordType and those
// this table does not know render as Unknown(N).
type RecordType int

// String returns the enum name, e.g. "MicrosoftTeams", or "Unknown(N)".
func (t RecordType) String() string {
	if name, ok := recordTypeNames[t]; ok {
		return name
	}
	return "Unknown(" + strconv.Itoa(int(t)) + ")"
}

// Known reports whether t is in this build's copy of the enum.
func (t RecordType) Known() bool {
	_, ok := recordTypeNames[t]
	return ok
}

var (
	recordTypeNames  = map[RecordType]string{}
	recordTypeByName = map[string]RecordType{} // normalised name → value
	recordTypeKeys   []string                  // display names, for suggestions
)

func init() {
	for _, e := range catalog.RecordTypes {
		recordTypeNames[RecordType(e.Number)] = e.Name
		recordTypeByName[normalizeTypeName(e.Name)] = RecordType(e.Number)
		recordTypeKeys = append(recordTypeKeys, e.Name)
	}
	for name, n := range catalog.RecordTypeAliases {
		recordTypeByName[normalizeTypeName(name)] = RecordType(n)
		recordTypeKeys = append(recordTypeKeys, name)
	}
	sort.Strings(recordTypeKeys)
}

// normalizeTypeName folds case and drops spaces, so "viva engage",
// "VivaEngage" and "Viva Engage" are one name.
func normalizeTypeName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// ParseRecordType reads a record type given by name (case-insensitive,
// spaces ignored, historical names such as "Yammer" accepted) or by number.
// An unknown name is an error that suggests the closest known names.
func ParseRecordType(s string) (RecordType, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty record type")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("record type %d is negative; record types are names such as MicrosoftTeams or non-negative numbers such as 25", n)
		}
		return RecordType(n), nil
	}
	if t, ok := recordTypeByName[normalizeTypeName(s)]; ok {
		return t, nil
	}
	msg := fmt.Sprintf("%q is not a record type of the Management Activity API", s)
	if sug := SuggestRecordTypes(s, 3); len(sug) > 0 {
		msg += "; did you mean " + strings.Join(sug, ", ") + "?"
	}
	return 0, fmt.Errorf("%s (names are case-insensitive; numbers such as 25 are accepted too)", msg)
}

// SuggestRecordTypes returns up to max known names closest to s (see
// suggest.Nearest; case and spaces do not count).
func SuggestRecordTypes(s string, max int) []string {
	return suggest.Nearest(s, recordTypeKeys, normalizeTypeName, max)
}
