package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const sampleRecord = `{"CreationTime":"2020-02-27T00:57:40","Id":"1234","Operation":"Test","OrganizationId":"Test1234","RecordType":25,"UserKey":"key1234","UserType":5,"Version":1234,"Workload":"MicrosoftTeams","UserId":"Application","Members":[{"DisplayName":"t\u00e9st","Role":1}],"ObjectId":"a\"b","Scope":0,"ClientIP":null,"Extra":{"x":[1,2.5e3,-0.1,true,false,null]}}`

func TestDecodeRecordCommonFields(t *testing.T) {
	r, err := DecodeRecord([]byte(sampleRecord))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Raw) != sampleRecord {
		t.Errorf("Raw not preserved byte for byte:\n%s", r.Raw)
	}
	checks := map[string][2]string{
		"ID":             {r.ID, "1234"},
		"CreationTime":   {r.CreationTime, "2020-02-27T00:57:40"},
		"Operation":      {r.Operation, "Test"},
		"OrganizationID": {r.OrganizationID, "Test1234"},
		"UserKey":        {r.UserKey, "key1234"},
		"Workload":       {r.Workload, "MicrosoftTeams"},
		"UserID":         {r.UserID, "Application"},
		"ObjectID":       {r.ObjectID, `a"b`},
		"ClientIP":       {r.ClientIP, ""},
		"ResultStatus":   {r.ResultStatus, ""},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if r.RecordType != 25 || r.UserType != 5 || r.Scope != 0 {
		t.Errorf("ints = %d %d %d", r.RecordType, r.UserType, r.Scope)
	}
	if got := string(r.Field(FieldObjectID)); got != `"a\"b"` {
		t.Errorf("Field(ObjectID) = %s", got)
	}
	if got := string(r.Field(FieldClientIP)); got != "null" {
		t.Errorf("Field(ClientIP) = %s", got)
	}
	if r.Field(FieldResultStatus) != nil {
		t.Errorf("absent field should be nil")
	}
}

func TestDecodeRecordAbsentInts(t *testing.T) {
	r, err := DecodeRecord([]byte(`{"Id":"x","RecordType":"15"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.RecordType != 15 || r.UserType != -1 || r.Scope != -1 {
		t.Errorf("got %d %d %d", r.RecordType, r.UserType, r.Scope)
	}
}

func TestDecodeRecordInvalid(t *testing.T) {
	for _, in := range []string{`{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":tru}`, `{"a":01}`, `{"a":"\x"}`, `{"a":1} x`, `{"a":"` + "\x01" + `"}`, `{"a":[1,]}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`} {
		if _, err := DecodeRecord([]byte(in)); err == nil {
			t.Errorf("DecodeRecord(%q) succeeded", in)
		} else if json.Valid([]byte(in)) {
			t.Errorf("%q is valid JSON but was refused: %v", in, err)
		}
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{`{}`, `{"a":{"b":[[],{}]}}`, `{"n":-0.5E+10}`, `{"s":"\u00e9\n\\\/"}`, `{"a":[1 , 2 ]}`, " {\n\"a\" : 1\n} "} {
		_, err := DecodeRecord([]byte(in))
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("%q: scanner err=%v, json.Valid=%v", in, err, json.Valid([]byte(in)))
		}
	}
}

func blobBody(n int) string {
	var b strings.Builder
	b.WriteString("[\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(strings.Replace(sampleRecord, `"Id":"1234"`, `"Id":"`+strings.Repeat("x", i%7)+string(rune('a'+i%26))+`"`, 1))
	}
	b.WriteString("\n]\n")
	return b.String()
}

func decodeAll(r io.Reader, max int64) ([]Record, error) {
	d := newBlobDecoder(r, max, "blob1")
	var out []Record
	for {
		rec, err := d.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestBlobDecoderStreams(t *testing.T) {
	// One byte at a time rescans a record per byte: keep it small.
	body := blobBody(60)
	var want []json.RawMessage
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatal(err)
	}
	// One byte at a time exercises every refill boundary.
	for name, r := range map[string]io.Reader{
		"whole":   strings.NewReader(body),
		"onebyte": iotest.OneByteReader(strings.NewReader(body)),
		"half":    iotest.HalfReader(strings.NewReader(body)),
	} {
		got, err := decodeAll(r, 1<<30)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].Raw, want[i]) {
				t.Fatalf("%s: record %d differs", name, i)
			}
		}
	}
}

func TestBlobDecoderErrors(t *testing.T) {
	body := blobBody(20)
	cases := map[string]struct {
		body      string
		max       int64
		truncated bool
		tooLarge  bool
	}{
		"truncated":      {body: body[:len(body)/2], truncated: true},
		"truncated-tail": {body: strings.TrimRight(body, "\n]"), truncated: true},
		"empty":          {body: "", truncated: true},
		"object":         {body: `{"error":{"code":"x"}}`},
		"trailing-comma": {body: `[{"a":1},]`},
		"not-object":     {body: `[1]`},
		"garbage-after":  {body: `[{"a":1}] x`},
		"too-large":      {body: body, max: 1000, tooLarge: true},
	}
	for name, c := range cases {
		max := c.max
		if max == 0 {
			max = 1 << 30
		}
		_, err := decodeAll(strings.NewReader(c.body), max)
		var ce *ContentError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want *ContentError", name, err)
			continue
		}
		if ce.Truncated != c.truncated || ce.TooLarge != c.tooLarge {
			t.Errorf("%s: %+v", name, ce)
		}
		if !IsSkippable(err) {
			t.Errorf("%s: not skippable", name)
		}
	}
	if recs, err := decodeAll(strings.NewReader(" [ ] "), 100); err != nil || len(recs) != 0 {
		t.Errorf("empty array: %v %d", err, len(recs))
	}
}

func TestBlobDecoderReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`[{"a":1},`), iotest.ErrReader(errors.New("connection reset by peer")))
	_, err := decodeAll(r, 1<<20)
	var re *readError
	if !errors.As(err, &re) || !retryable(err) {
		t.Fatalf("err = %v, want a retryable read error", err)
	}
}

func TestParseCreationTime(t *testing.T) {
	want := time.Date(2015, 6, 29, 20, 3, 19, 0, time.UTC)
	for in, w := range map[string]time.Time{
		"2015-06-29T20:03:19":              want,
		"2015-06-29T20:03:19Z":             want,
		"2015-06-29T20:03:19.000Z":         want,
		"2015-06-29T22:03:19+02:00":        want,
		"2015-06-29T20:03:19.5":            want.Add(500 * time.Millisecond),
		"2015-06-29T20:03:19.1234567":      want.Add(123456700),
		"2015-06-29T20:03:19.123456789123": want.Add(123456789),
		"2015-06-29 20:03:19":              want,
	} {
		got, err := ParseCreationTime(in)
		if err != nil || !got.Equal(w) || got.Location() != time.UTC {
			t.Errorf("ParseCreationTime(%q) = %v, %v; want %v", in, got, err, w)
		}
	}
	for _, bad := range []string{"", "yesterday", "2015-06-29", "2015-13-29T20:03:19"} {
		if _, err := ParseCreationTime(bad); err == nil {
			t.Errorf("ParseCreationTime(%q) succeeded", bad)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseCreationTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
