package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzDepth reports how deeply data nests arrays and objects (outside
// strings), to skip inputs beyond the scanner's documented maxDepth.
func fuzzDepth(data []byte) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, c := range data {
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case inStr && c == '"':
			inStr = false
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// topLevelKeys returns the keys of a JSON object in order (duplicates
// included), or nil when data is not an object.
func topLevelKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return keys
}

// FuzzRecord checks DecodeRecord against encoding/json: it accepts exactly
// the JSON objects (within its nesting limit), keeps Raw byte for byte, and
// decodes every common field as encoding/json reads it.
func FuzzRecord(f *testing.F) {
	for _, s := range []string{
		`{"Id":"80c76bd2-9d81-4c57-a97a-accfc3443dca","CreationTime":"2026-11-28T10:15:00","RecordType":25,"Operation":"MessageSent","OrganizationId":"contoso","UserType":0,"UserKey":"k","Workload":"MicrosoftTeams","ResultStatus":"Succeeded","ObjectId":"o","UserId":"u@contoso.com","ClientIP":"10.0.0.1","Scope":0,"Extra":{"a":[1,2.5e3,true,null]}}`,
		`{}`, ` { "Id" : "a\"b\u00e9\ud83d\ude00" , "RecordType" : "25" } `, `{"RecordType":25.0,"UserType":1e2,"Scope":-0}`,
		`{"Id":1,"CreationTime":null,"Operation":{},"Workload":[],"UserId":true}`, `{"Id":"first","Id":"second"}`,
		`[]`, `{"a":}`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":tru}`, `{"Id":"x"} {}`,
		`{"a":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`, `{"Id":"\ud800"}`, "{\"Id\":\"\xff\"}",
		`{"RecordType":99999999999999999999}`, `{"RecordType":-9223372036854775808}`, `{"RecordType":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeRecord(data)
		trimmed := bytes.TrimSpace(data)
		isObject := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{'
		if err != nil {
			if isObject && fuzzDepth(data) < maxDepth {
				t.Fatalf("DecodeRecord rejects a valid JSON object: %v\n%q", err, data)
			}
			return
		}
		if !isObject {
			t.Fatalf("DecodeRecord accepts what encoding/json does not take for an object: %q", data)
		}
		if !bytes.Equal(rec.Raw, data) {
			t.Fatalf("Raw = %q, want the input byte for byte", rec.Raw)
		}
		keys := topLevelKeys(data)
		count := map[string]int{}
		for _, k := range keys {
			count[k]++
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		strs := map[int]string{FieldID: rec.ID, FieldCreationTime: rec.CreationTime, FieldOperation: rec.Operation,
			FieldOrganizationID: rec.OrganizationID, FieldUserKey: rec.UserKey, FieldWorkload: rec.Workload,
			FieldResultStatus: rec.ResultStatus, FieldObjectID: rec.ObjectID, FieldUserID: rec.UserID, FieldClientIP: rec.ClientIP}
		ints := map[int]int{FieldRecordType: int(rec.RecordType), FieldUserType: rec.UserType, FieldScope: rec.Scope}
		for i, name := range FieldNames {
			raw, present := m[name]
			got := rec.Field(i)
			if !present {
				if got != nil {
					t.Fatalf("field %s absent but Field = %q", name, got)
				}
				if v, ok := strs[i]; ok && v != "" {
					t.Fatalf("field %s absent but decoded as %q", name, v)
				}
				if v, ok := ints[i]; ok && v != -1 {
					t.Fatalf("field %s absent but decoded as %d", name, v)
				}
				continue
			}
			if count[name] != 1 {
				continue // duplicate keys: the first wins here, the last in encoding/json
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("Field(%s) = %q, encoding/json has %q", name, got, raw)
			}
			if want, ok := strs[i]; ok {
				var s string
				if json.Unmarshal(raw, &s) == nil && utf8.Valid(raw) && want != s {
					t.Fatalf("%s = %q, encoding/json decodes %q", name, want, s)
				}
			}
			if v, ok := ints[i]; ok {
				var n json.Number
				if json.Unmarshal(raw, &n) == nil {
					if i64, err := n.Int64(); err == nil && i64 == int64(int(i64)) && v != int(i64) {
						t.Fatalf("%s = %d, encoding/json reads %s", name, v, n)
					}
				}
			}
		}
		_, _ = rec.Created()
	})
}

// chunkReader returns at most n bytes per Read, so the decoder's buffer
// refills land everywhere inside values.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// FuzzBlobDecoder streams arbitrary blob bytes through the record decoder in
// small chunks and checks it against encoding/json: a valid array of
// objects yields exactly its elements, byte for byte, in order; anything
// else ends in a *ContentError; a body over the cap never decodes.
func FuzzBlobDecoder(f *testing.F) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[{"Id":"1","CreationTime":"2026-11-28T10:00:00","RecordType":25}, {"Id":"2"}]`,
		`[{"Id":"1"}`, `[{"Id":"1"},]`, `[{"Id":"1"}] x`, `{"value":[{"Id":"1"}]}`, `[1]`, `[[]]`, `["x"]`, `[{"Id":"1"}{"Id":"2"}]`,
		`[{"Id":"` + strings.Repeat("a", 70000) + `"}]`, "", "\ufeff[]", `[{"a":"\u0000"}]`,
	} {
		f.Add([]byte(s), uint16(7), uint32(0))
	}
	f.Add([]byte(`[{"Id":"1"},{"Id":"2"}]`), uint16(1), uint32(10))
	// The long record through 1- and 2-byte reads: the decoder must resume
	// its scan, not restart it per Read (that took minutes).
	long := []byte(`[{"Id":"` + strings.Repeat("a", 70000) + `","N":{"x":[1,"}"]}},{"Id":"2"}]`)
	f.Add(long, uint16(0), uint32(0))
	f.Add(long, uint16(1), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, capBytes uint32) {
		max := int64(len(data)) + 1
		if capBytes > 0 {
			max = int64(capBytes)
		}
		d := newBlobDecoder(&chunkReader{b: data, n: int(chunk%4096) + 1}, max, "blob-1")
		var got []Record
		var err error
		for {
			var r Record
			r, err = d.next()
			if err != nil {
				break
			}
			got = append(got, r)
			if len(got) > len(data) {
				t.Fatalf("more records than input bytes")
			}
		}
		var elems []json.RawMessage
		validArray := json.Unmarshal(data, &elems) == nil && elems != nil
		allObjects := validArray
		for _, e := range elems {
			allObjects = allObjects && e[0] == '{'
		}
		allObjects = allObjects && fuzzDepth(data) <= maxDepth
		if err == io.EOF {
			if int64(len(data)) > max {
				t.Fatalf("a %d-byte body decoded although the cap is %d", len(data), max)
			}
			if !validArray || !allObjects {
				t.Fatalf("decoded %d records from input encoding/json does not take for an array of objects: %q", len(got), data)
			}
			if len(got) != len(elems) {
				t.Fatalf("decoded %d records, encoding/json finds %d", len(got), len(elems))
			}
			for i := range elems {
				if !bytes.Equal(got[i].Raw, elems[i]) {
					t.Fatalf("record %d Raw = %q, want %q", i, got[i].Raw, elems[i])
				}
			}
			return
		}
		var ce *ContentError
		if !errors.As(err, &ce) {
			t.Fatalf("decoder error %T %v, want a *ContentError", err, err)
		}
		if ce.ContentID != "blob-1" || ce.Reason == "" {
			t.Fatalf("ContentError %+v lacks the blob ID or a reason", ce)
		}
		if int64(len(data)) <= max && allObjects {
			t.Fatalf("valid array of %d objects rejected: %v", len(elems), err)
		}
		if int64(len(data)) > max && ce.TooLarge && !strings.Contains(ce.Error(), "max_blob_mb") {
			t.Fatalf("too-large error %q does not name max_blob_mb", ce.Error())
		}
	})
}

// FuzzParseCreationTime: never panics or recurses without end; an accepted
// time is UTC and an accepted zone-less layout round-trips.
func FuzzParseCreationTime(f *testing.F) {
	for _, s := range []string{"2026-11-28T10:15:00", "2026-11-28T10:15:00.1234567", "2026-11-28T10:15:00.123456789012Z",
		"2026-11-28 10:15:00", "2026-11-28T10:15:00+05:30", "2026-11-28T10:15:00.", "2026-11-28 10:15:00.1234567890123 ", "", " . ", "1.0000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseCreationTime(s)
		if err != nil {
			if !strings.Contains(err.Error(), "CreationTime") {
				t.Fatalf("error %q does not name CreationTime", err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseCreationTime(%q) = %v, not UTC", s, tm)
		}
		if tm.Year() >= 0 && tm.Year() <= 9999 {
			back, err := ParseCreationTime(tm.Format("2006-01-02T15:04:05.999999999"))
			if err != nil || !back.Equal(tm) {
				t.Fatalf("ParseCreationTime(%q) = %v does not round-trip: %v, %v", s, tm, back, err)
			}
		}
	})
}
