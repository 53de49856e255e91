package activity

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Common field indexes: the fields of the common audit schema (MS-SCHEMA)
// that the client decodes. Every other field stays in Record.Raw only.
const (
	FieldID = iota
	FieldCreationTime
	FieldRecordType
	FieldOperation
	FieldOrganizationID
	FieldUserType
	FieldUserKey
	FieldWorkload
	FieldResultStatus
	FieldObjectID
	FieldUserID
	FieldClientIP
	FieldScope
	// Where some workloads put the client address instead of ClientIP
	// (Azure AD: ActorIpAddress; Exchange mailbox audit: ClientIPAddress).
	// Raw only: read them with Field.
	FieldActorIPAddress
	FieldClientIPAddress
	numFields
)

// FieldNames are the JSON names of the common fields, by field index.
var FieldNames = [numFields]string{
	"Id", "CreationTime", "RecordType", "Operation", "OrganizationId", "UserType",
	"UserKey", "Workload", "ResultStatus", "ObjectId", "UserId", "ClientIP", "Scope",
	"ActorIpAddress", "ClientIPAddress",
}

// Record is one audit record: the JSON exactly as the API sent it, plus the
// common fields decoded. Absent string fields are "", absent int fields -1.
type Record struct {
	// Raw is the record's JSON, byte for byte (unknown fields included).
	// It must not be modified: the string fields share its memory.
	Raw json.RawMessage

	ID             string
	CreationTime   string // as sent, usually without a zone; see Created
	RecordType     RecordType
	Operation      string
	OrganizationID string
	UserType       int
	UserKey        string
	Workload       string
	ResultStatus   string
	ObjectID       string
	UserID         string
	ClientIP       string
	Scope          int

	spans [numFields]span // where each common field's value sits in Raw
}

type span struct{ start, end int32 }

// Field returns the raw JSON value of common field i (FieldID…FieldScope),
// or nil when the record does not have it.
func (r *Record) Field(i int) json.RawMessage {
	if i < 0 || i >= numFields {
		return nil
	}
	s := r.spans[i]
	if s.end == 0 {
		return nil
	}
	return r.Raw[s.start:s.end:s.end]
}

// FieldText returns common field i as text: a JSON string's value (no copy
// when it has no escapes), a number or boolean as written, and "" when the
// field is absent, null, an object or an array.
func (r *Record) FieldText(i int) string {
	v := r.Field(i)
	if len(v) == 0 {
		return ""
	}
	return jsonString(unsafe.String(unsafe.SliceData(v), len(v)))
}

// Created parses CreationTime as UTC (see ParseCreationTime).
func (r *Record) Created() (time.Time, error) { return ParseCreationTime(r.CreationTime) }

// ParseCreationTime parses a record's CreationTime: "2006-01-02T15:04:05"
// without a zone (UTC, as the API sends it), optionally with fractional
// seconds (any number of digits), optionally with "Z" or a UTC offset.
func ParseCreationTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	// Some workloads send more than 9 fractional digits or a space separator.
	if i := strings.IndexByte(s, '.'); i > 0 {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i-1 > 9 {
			return ParseCreationTime(s[:i+10] + s[j:])
		}
	}
	if strings.Count(s, " ") == 1 && !strings.Contains(s, "T") {
		return ParseCreationTime(strings.Replace(s, " ", "T", 1))
	}
	return time.Time{}, fmt.Errorf("CreationTime %q is not a time like 2006-01-02T15:04:05", s)
}

// DecodeRecord decodes one record from its JSON object. The bytes are
// copied, so data may be reused by the caller.
func DecodeRecord(data []byte) (Record, error) {
	var spans [numFields]span
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		if _, err := scanValue(data, i, 0); err != nil {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("a record is not a JSON object")
	}
	end, err := parseObject(data, i, &spans)
	if err != nil {
		return Record{}, err
	}
	if skipWS(data, end) != len(data) {
		return Record{}, fmt.Errorf("unexpected data after the record at offset %d", end)
	}
	// Spans are relative to the object's start; Raw keeps the surrounding
	// whitespace too, so shift them.
	for f := range spans {
		if spans[f].end != 0 {
			spans[f].start += int32(i)
			spans[f].end += int32(i)
		}
	}
	return newRecord(data, &spans), nil
}

// parseObject validates the JSON object starting at b[i] ('{') in one pass
// and notes where the common fields' values are (relative to i). It
// returns the index just past the object, or errShort when b ends first.
func parseObject(b []byte, i int, spans *[numFields]span) (int, error) {
	start := i
	i = skipWS(b, i+1)
	if i >= len(b) {
		return i, errShort
	}
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errShort
		}
		if b[i] != '"' {
			return i, syntaxErr(b, i, "a string key")
		}
		ks := i
		ke, err := scanString(b, i)
		if err != nil {
			return ke, err
		}
		i = skipWS(b, ke)
		if i >= len(b) {
			return i, errShort
		}
		if b[i] != ':' {
			return i, syntaxErr(b, i, "':'")
		}
		vs := skipWS(b, i+1)
		ve, err := scanValue(b, vs, 1)
		if err != nil {
			return ve, err
		}
		// The first occurrence of a duplicated key wins.
		if f := fieldIndex(b[ks+1 : ke-1]); f >= 0 && spans[f].end == 0 {
			spans[f] = span{int32(vs - start), int32(ve - start)}
		}
		i = skipWS(b, ve)
		if i >= len(b) {
			return i, errShort
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, syntaxErr(b, i, "',' or '}'")
		}
	}
}

// newRecord copies one validated JSON object into a Record and decodes the
// common fields whose value spans parseObject found.
func newRecord(val []byte, spans *[numFields]span) Record {
	return recordOf(append(make(json.RawMessage, 0, len(val)), val...), spans)
}

// recordOf decodes the common fields of raw, which the record then owns.
func recordOf(raw json.RawMessage, spans *[numFields]span) Record {
	r := Record{RecordType: -1, UserType: -1, Scope: -1, spans: *spans}
	r.Raw = raw
	// The string fields share Raw's memory (Raw is never written after
	// this), which saves a copy of every record: decoding is the hot path
	// of list-content and fetch.
	str := unsafe.String(unsafe.SliceData(r.Raw), len(r.Raw))
	for f, sp := range spans {
		if sp.end != 0 {
			r.setField(f, str, int(sp.start), int(sp.end))
		}
	}
	return r
}

func fieldIndex(key []byte) int {
	switch string(key) { // no allocation: the compiler special-cases this
	case "Id":
		return FieldID
	case "CreationTime":
		return FieldCreationTime
	case "RecordType":
		return FieldRecordType
	case "Operation":
		return FieldOperation
	case "OrganizationId":
		return FieldOrganizationID
	case "UserType":
		return FieldUserType
	case "UserKey":
		return FieldUserKey
	case "Workload":
		return FieldWorkload
	case "ResultStatus":
		return FieldResultStatus
	case "ObjectId":
		return FieldObjectID
	case "UserId":
		return FieldUserID
	case "ClientIP":
		return FieldClientIP
	case "Scope":
		return FieldScope
	case "ActorIpAddress":
		return FieldActorIPAddress
	case "ClientIPAddress":
		return FieldClientIPAddress
	}
	return -1
}

func (r *Record) setField(f int, str string, vs, ve int) {
	switch f {
	case FieldRecordType:
		r.RecordType = RecordType(jsonInt(str[vs:ve]))
		return
	case FieldUserType:
		r.UserType = jsonInt(str[vs:ve])
		return
	case FieldScope:
		r.Scope = jsonInt(str[vs:ve])
		return
	case FieldActorIPAddress, FieldClientIPAddress:
		return // Raw only
	}
	v := jsonString(str[vs:ve])
	switch f {
	case FieldID:
		r.ID = v
	case FieldCreationTime:
		r.CreationTime = v
	case FieldOperation:
		r.Operation = v
	case FieldOrganizationID:
		r.OrganizationID = v
	case FieldUserKey:
		r.UserKey = v
	case FieldWorkload:
		r.Workload = v
	case FieldResultStatus:
		r.ResultStatus = v
	case FieldObjectID:
		r.ObjectID = v
	case FieldUserID:
		r.UserID = v
	case FieldClientIP:
		r.ClientIP = v
	}
}

// jsonInt reads an int from a JSON number or a numeric string ("25"); -1
// when it is neither.
func jsonInt(v string) int {
	if len(v) > 1 && v[0] == '"' {
		v = jsonString(v)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		if f, ferr := strconv.ParseFloat(v, 64); ferr == nil && f == float64(int(f)) {
			return int(f)
		}
		return -1
	}
	return n
}

// jsonString returns the text of a JSON string value (a substring of v when
// it has no escapes), the JSON text itself for numbers and booleans, and ""
// for null, objects and arrays.
func jsonString(v string) string {
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		inner := v[1 : len(v)-1]
		if strings.IndexByte(inner, '\\') < 0 {
			return inner
		}
		var s string
		if json.Unmarshal([]byte(v), &s) == nil {
			return s
		}
		return inner
	case 'n', '{', '[':
		return ""
	}
	return v
}

// ---- a small validating JSON scanner ----
//
// encoding/json's Decoder scans every value twice (once to find its end,
// once to unmarshal) through a per-byte state machine; this scanner finds a
// value's end and validates it in one tight pass, which makes decoding a
// blob several times faster. It accepts exactly RFC 8259 JSON (strings are
// not checked for valid UTF-8, as encoding/json's scanner does not either).

// errShort means the input ended inside a value: more input may complete it.
var errShort = fmt.Errorf("unexpected end of JSON input")

const maxDepth = 1000

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the index just past the JSON value starting at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errShort
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		if depth >= maxDepth {
			return i, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return i, errShort
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) {
				return i, errShort
			}
			if b[i] != '"' {
				return i, syntaxErr(b, i, "a string key")
			}
			var err error
			if i, err = scanString(b, i); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, errShort
			}
			if b[i] != ':' {
				return i, syntaxErr(b, i, "':'")
			}
			if i, err = scanValue(b, skipWS(b, i+1), depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, errShort
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case '}':
				return i + 1, nil
			default:
				return i, syntaxErr(b, i, "',' or '}'")
			}
		}
	case c == '[':
		if depth >= maxDepth {
			return i, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return i, errShort
		}
		if b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = scanValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, errShort
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case ']':
				return i + 1, nil
			default:
				return i, syntaxErr(b, i, "',' or ']'")
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, syntaxErr(b, i, "a JSON value")
}

func scanString(b []byte, i int) (int, error) {
	i++ // opening quote
	for {
		// Fast path over plain bytes.
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, errShort
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return i, syntaxErr(b, i, "no control character in a string")
		default: // backslash
			if i+1 >= len(b) {
				return i, errShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, errShort
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, syntaxErr(b, i, "a \\uXXXX escape")
					}
				}
				i += 6
			default:
				return i, syntaxErr(b, i, "a valid escape")
			}
		}
	}
}

// plainStringByte marks the bytes that may appear in a JSON string as they
// are: everything but '"', '\\' and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i >= len(b) {
		return i, errShort
	}
	if b[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, syntaxErr(b, start, "a number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			if i >= len(b) {
				return i, errShort
			}
			return i, syntaxErr(b, start, "a number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			if i >= len(b) {
				return i, errShort
			}
			return i, syntaxErr(b, start, "a number")
		}
	}
	// A number at the very end of the input may continue in the next chunk.
	if i >= len(b) {
		return i, errShort
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i, errShort
		}
		if b[i+k] != lit[k] {
			return i, syntaxErr(b, i, lit)
		}
	}
	return i + len(lit), nil
}

func syntaxErr(b []byte, i int, want string) error {
	got := "end of input"
	if i < len(b) {
		r, _ := utf8.DecodeRune(b[i:])
		got = strconv.QuoteRune(r)
	}
	return fmt.Errorf("invalid JSON at offset %d: expected %s, found %s", i, want, got)
}
