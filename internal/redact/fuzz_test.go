package redact

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRedact: for any text and secret, String leaves no form of the secret
// (unless the text only holds it across a placeholder the replacement
// itself created), the streaming Writer gives the same bytes as String at
// any Write size, and text without a form is returned unchanged.
func FuzzRedact(f *testing.F) {
	f.Add("before s3cr3t+/value== after", "s3cr3t+/value==", uint16(3))
	f.Add(`{"m":"pa\"ss\/word"}`, `pa"ss/word`, uint16(1))
	f.Add(strings.Repeat("ab", 100), "ababab", uint16(7))
	f.Add("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----", "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----", uint16(5))
	f.Fuzz(func(t *testing.T, text, secret string, step uint16) {
		var s Set
		s.Add(secret)
		got := s.String(text)
		forms := s.forms
		if len(forms) == 0 {
			if got != text {
				t.Fatalf("no secret, text changed: %q -> %q", text, got)
			}
			return
		}
		contains := false
		for _, f := range forms {
			contains = contains || strings.Contains(text, f)
		}
		if !contains && got != text {
			t.Fatalf("text without a secret changed: %q -> %q", text, got)
		}
		if contains && !strings.Contains(got, Placeholder) {
			t.Fatalf("secret form in %q not replaced: %q", text, got)
		}
		// Whatever survives must be made of the placeholder's own letters,
		// i.e. not present once every placeholder is cut out.
		for _, piece := range strings.Split(got, Placeholder) {
			for _, f := range forms {
				if strings.Contains(piece, f) {
					t.Fatalf("form %q survives in %q", f, got)
				}
			}
		}
		var out bytes.Buffer
		w := s.Writer(&out)
		n := int(step%9000) + 1
		for i := 0; i < len(text); i += n {
			w.Write([]byte(text[i:min(i+n, len(text))]))
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != got {
			t.Fatalf("Writer (step %d) = %q, String = %q", n, out.String(), got)
		}
	})
}
