package commands

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	xcontext "github.com/secops-go/ms-management-activity/context"
)

// stdlibOutput is what main wrote before WriteOutput: the reference.
func stdlibOutput(t *testing.T, out *Output) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteOutputMatchesEncodingJSON(t *testing.T) {
	weird := "a\"b\\c\x00\x01\b\f\n\r\t<>&\u2028\u2029é€😀\xff\xc3 end"
	rec := json.RawMessage(" {\n  \"Id\" : \"x \\\" y\\\\\",\t\"N\": [1, 2 ,{ \"a\" : null }],\"S\":\"  spaced  \"}\n")
	empty := []Incident{}
	lastRun := json.RawMessage(`{"version": 1, "streams": {}}`)
	cases := map[string]*Output{
		"error":   ErrorOutput("Failed: " + weird),
		"empty":   {Results: []xcontext.Entry{}},
		"nil":     {},
		"ictx":    {Results: []xcontext.Entry{xcontext.Text("ok")}, IntegrationContext: map[string]any{}},
		"ictx2":   {Results: []xcontext.Entry{xcontext.Text("ok")}, IntegrationContext: map[string]any{"b": 1, "a": map[string]any{"z": []any{1.5, "x", nil}}, weird: true}},
		"fetch0":  {Results: []xcontext.Entry{}, Incidents: &empty, LastRun: map[string]any{}},
		"fetchRM": {Results: []xcontext.Entry{xcontext.Warning(weird)}, Incidents: &[]Incident{{Name: weird, Occurred: "2026-01-01T00:00:00Z", RawJSON: string(rec), Type: "t", DbotMirrorID: "x"}, {Name: "n", RawJSON: "{}"}}, LastRun: lastRun},
		"nilInc":  {Results: []xcontext.Entry{}, Incidents: new([]Incident)},
		"list": {Results: []xcontext.Entry{xcontext.Note([]json.RawMessage{rec, json.RawMessage(`{}`), nil}, "### T\n|a|\n|---|\n| "+weird+" |\n",
			map[string]any{xcontext.ContentRecordKey: []json.RawMessage{json.RawMessage(`{"ID":"1"}`), rec}, "Other(val.x)": json.RawMessage(" [ 1 ] "), "n": nil, "s": weird})}},
		"rawContents": {Results: []xcontext.Entry{xcontext.Note(rec, strings.Repeat("é", 70000)+weird, nil)}},
		"mapContents": {Results: []xcontext.Entry{{Type: 1, ContentsFormat: "json", Contents: map[string]any{"k": []string{"a"}}}}},
	}
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			want := stdlibOutput(t, out)
			var got bytes.Buffer
			if err := WriteOutput(&got, out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteOutput differs from encoding/json:\n got %s\nwant %s", got.Bytes(), want)
			}
		})
	}
}

// TestWriteOutputKnowsEveryField fails when Output or Entry gain a field
// that WriteOutput would not write.
func TestWriteOutputKnowsEveryField(t *testing.T) {
	for _, c := range []struct {
		v    any
		tags []string
	}{
		{Output{}, []string{"results", "incidents,omitempty", "lastRun,omitempty", "integrationContext,omitzero", "-", "-"}},
		{xcontext.Entry{}, []string{"Type", "ContentsFormat", "Contents", "HumanReadable,omitempty", "ReadableContentsFormat,omitempty", "EntryContext,omitempty"}},
		{Incident{}, []string{"name", "occurred", "rawJSON", "type,omitempty", "dbotMirrorId,omitempty"}},
	} {
		typ := reflect.TypeOf(c.v)
		var tags []string
		for i := 0; i < typ.NumField(); i++ {
			tags = append(tags, typ.Field(i).Tag.Get("json"))
		}
		if !reflect.DeepEqual(tags, c.tags) {
			t.Errorf("%s fields are %q; update WriteOutput (output.go) and this test", typ, tags)
		}
	}
}

func TestWriteOutputRefusesEmptyRaw(t *testing.T) {
	out := &Output{Results: []xcontext.Entry{xcontext.Note(json.RawMessage{}, "", nil)}}
	if err := WriteOutput(&bytes.Buffer{}, out); err == nil {
		t.Fatal("an empty json.RawMessage was written")
	}
}

// TestAppendJSONStringMatchesEncodingJSON checks the escaper on random
// strings over every byte value.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abc \"\\\x00\x1f\x7f\x80\xbf\xc3\xa9\xe2\x80\xa8\xa9\xf0\x9f\x98\x80<>&")
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(string(b))
		got := appendJSONString(nil, string(b))
		if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Fatalf("%q: got %s, want %s", b, got, want.Bytes())
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\x00\u2028\xff plain text plain text")
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
