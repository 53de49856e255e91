// Package search decides which audit records an investigation asks for:
// who (users), from where (client addresses and CIDR ranges, IPv4 and
// IPv6), on what (objects), what (operations, record types, workloads,
// result statuses), any text, and when (CreationTime in a closed range). A
// Matcher looks at one record at a time, so a scan holds only what it keeps.
package search

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secops-go/ms-management-activity/internal/activity"
)

// Criteria are a search's record filters, as the command's arguments give
// them (each list already split). Lists are OR-ed within and AND-ed across;
// an empty list does not filter.
type Criteria struct {
	UserIDs      []string // UserId or UserKey, case-insensitive
	ClientIPs    []string // addresses or CIDR ranges, IPv4 or IPv6
	ObjectIDs    []string // case-insensitive substrings of ObjectId
	Operations   []string // as records spell them (see activity.Filter)
	RecordTypes  []string // names (case-insensitive) or numbers
	Workloads    []string // case-insensitive
	ResultStatus []string // case-insensitive
	Query        string   // case-insensitive substring of the raw record
}

// Empty reports whether no record filter is given.
func (c Criteria) Empty() bool {
	return len(c.UserIDs) == 0 && len(c.ClientIPs) == 0 && len(c.ObjectIDs) == 0 && len(c.Operations) == 0 &&
		len(c.RecordTypes) == 0 && len(c.Workloads) == 0 && len(c.ResultStatus) == 0 && strings.TrimSpace(c.Query) == ""
}

// Verdict is what a Matcher says about one record.
type Verdict int

const (
	// NoMatch: the record fails a filter or lies outside the time range.
	NoMatch Verdict = iota
	// Match: the record passes every filter and lies in the time range.
	Match
	// NoTime: the record passes every filter but its CreationTime cannot
	// be read, so whether it lies in the range is unknown.
	NoTime
)

// Matcher matches records against Criteria and a CreationTime range. It
// is immutable after New, so scanners may share it.
type Matcher struct {
	start, end   time.Time
	users        []string
	prefixes     []netip.Prefix
	objects      []string         // lower-cased
	kinds        *activity.Filter // record types, workloads, operations; nil: none
	resultStatus []string
	query        []string // lower-cased forms to look for in the raw JSON
}

// New builds a Matcher for c; it matches no time until InRange gives it
// one. Errors name the argument at fault and say what is accepted.
func New(c Criteria) (*Matcher, error) {
	m := &Matcher{users: c.UserIDs, resultStatus: c.ResultStatus}
	for _, s := range c.ClientIPs {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("client_ips: %w", err)
		}
		m.prefixes = append(m.prefixes, p)
	}
	for _, s := range c.ObjectIDs {
		m.objects = append(m.objects, strings.ToLower(s))
	}
	// One definition of the known record types, workloads and operations,
	// with suggestions for typos, as list-content's filters have.
	if len(c.RecordTypes)+len(c.Workloads)+len(c.Operations) > 0 {
		f, err := activity.ParseFilterNamed(activity.FilterNames{RecordTypes: "record_types", Workloads: "workloads", Operations: "operations"},
			strings.Join(c.RecordTypes, ","), strings.Join(c.Workloads, ","), strings.Join(c.Operations, ","))
		if err != nil {
			return nil, err
		}
		m.kinds = f
	}
	if q := strings.TrimSpace(c.Query); q != "" {
		m.query = queryForms(q)
	}
	return m, nil
}

// InRange returns a copy of m that matches records whose CreationTime lies
// in [start, end].
func (m *Matcher) InRange(start, end time.Time) *Matcher {
	c := *m
	c.start, c.end = start, end
	return &c
}

// queryForms are the lower-cased texts that show q in a raw record: q
// itself and, when it differs, q as JSON writes it inside a string (a
// backslash or quote in q is escaped in the record's bytes).
func queryForms(q string) []string {
	lq := strings.ToLower(q)
	forms := []string{lq}
	var b strings.Builder
	for _, r := range lq {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	if esc := b.String(); esc != lq {
		forms = append(forms, esc)
	}
	return forms
}

// Match tells whether r is one of the records searched for. The cheap
// field comparisons come first; the raw-text search and the time parse run
// only for records that pass them.
func (m *Matcher) Match(r *activity.Record) Verdict {
	if len(m.users) > 0 && !equalsAny(m.users, r.UserID) && !equalsAny(m.users, r.UserKey) {
		return NoMatch
	}
	if m.kinds != nil && !m.kinds.Match(r) {
		return NoMatch
	}
	if len(m.resultStatus) > 0 && !equalsAny(m.resultStatus, r.ResultStatus) {
		return NoMatch
	}
	if len(m.objects) > 0 && !containsAnyFold(r.ObjectID, m.objects) {
		return NoMatch
	}
	if len(m.prefixes) > 0 && !m.addressMatches(r) {
		return NoMatch
	}
	if len(m.query) > 0 && !containsAnyFold(string(r.Raw), m.query) {
		return NoMatch
	}
	at, err := r.Created()
	if err != nil {
		return NoTime
	}
	if at.Before(m.start) || at.After(m.end) {
		return NoMatch
	}
	return Match
}

// addressFields are where records carry the client's address.
var addressFields = [...]int{activity.FieldClientIP, activity.FieldActorIPAddress, activity.FieldClientIPAddress}

func (m *Matcher) addressMatches(r *activity.Record) bool {
	for _, f := range addressFields {
		s := r.ClientIP
		if f != activity.FieldClientIP {
			s = r.FieldText(f)
		}
		if s == "" {
			continue
		}
		a, ok := ParseRecordAddr(s)
		if !ok {
			continue
		}
		for _, p := range m.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// ParseRecordAddr reads a client address in the shapes records use:
// "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:443" and IPv4-mapped IPv6 "::ffff:1.2.3.4" (returned as
// the IPv4 address, so an IPv4 filter finds it). A zone is dropped.
func ParseRecordAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		switch {
		case perr == nil:
			a = ap.Addr()
		case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

// ParsePrefix reads one client_ips item: an address in any shape
// ParseRecordAddr reads (a single-address range) or a CIDR range such as
// 10.0.0.0/8 or 2001:db8::/32 (host bits are ignored: 10.1.2.3/8 is
// 10.0.0.0/8). An IPv4-mapped range (::ffff:10.0.0.0/104) becomes its IPv4
// range.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not an IP address or CIDR range (e.g. 203.0.113.7, 2001:db8::1, 10.0.0.0/8 or 2001:db8::/32)", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, ok := ParseRecordAddr(s)
	if !ok {
		return netip.Prefix{}, bad
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func equalsAny(list []string, s string) bool {
	for _, v := range list {
		if len(v) == len(s) && strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func containsAnyFold(s string, lowerNeedles []string) bool {
	for _, n := range lowerNeedles {
		if ContainsFold(s, n) {
			return true
		}
	}
	return false
}

// ContainsFold reports whether s contains lowerNeedle (already lower-case)
// ignoring case, in time linear in len(s) and without allocating when
// lowerNeedle is ASCII.
func ContainsFold(s, lowerNeedle string) bool {
	n := len(lowerNeedle)
	if n == 0 {
		return true
	}
	if !isASCII(lowerNeedle) {
		return strings.Contains(strings.ToLower(s), lowerNeedle)
	}
	lo := lowerNeedle[0]
	up := lo
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	last := len(s) - n // the last position a match can start at
	// The next position of each case of the first byte, each searched for
	// once per occurrence: searching again from every candidate would make
	// a scan quadratic when one case is rare or absent.
	nextLo, nextUp := -1, -1
	for i := 0; i <= last; {
		if nextLo < i {
			nextLo = indexFrom(s, lo, i, last)
		}
		if nextUp < i {
			nextUp = indexFrom(s, up, i, last)
		}
		j := min(nextLo, nextUp)
		if j > last {
			return false
		}
		if asciiEqualLower(s[j+1:j+n], lowerNeedle[1:]) {
			return true
		}
		i = j + 1
	}
	return false
}

// indexFrom is the index in s of the first c in s[from:last+1], or
// last+1 when there is none.
func indexFrom(s string, c byte, from, last int) int {
	k := strings.IndexByte(s[from:last+1], c)
	if k < 0 {
		return last + 1
	}
	return from + k
}

// asciiEqualLower compares s with lower (lower-case) ignoring ASCII case.
func asciiEqualLower(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
