package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestRedactsEveryForm(t *testing.T) {
	var s Set
	secret := "s3cr3t+/value=="
	s.Add(secret, "", "abc")
	for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret)), url.QueryEscape(secret)} {
		got := s.String("before " + form + " after")
		if strings.Contains(got, form) || !strings.Contains(got, Placeholder) {
			t.Errorf("form %q not redacted: %q", form, got)
		}
	}
	if got := s.String("abc stays"); got != "abc stays" {
		t.Errorf("short values must not be redacted: %q", got)
	}
}

func TestHandlerRedactsMessagesAttrsErrorsAndGroups(t *testing.T) {
	var s Set
	s.Add("TOKEN-1234567890")
	var buf bytes.Buffer
	log := slog.New(s.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log = log.With("bound", "x TOKEN-1234567890")
	log.Debug("got TOKEN-1234567890", "tok", "TOKEN-1234567890", "err", errors.New("bad TOKEN-1234567890"),
		slog.Group("g", "inner", "TOKEN-1234567890"), "n", 5)
	if strings.Contains(buf.String(), "TOKEN-1234567890") {
		t.Fatalf("secret leaked: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "n=5") {
		t.Errorf("non-secret attrs must be kept: %s", buf.String())
	}
}

func TestPEMLines(t *testing.T) {
	var s Set
	key := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"
	s.Add(key)
	if got := s.String("line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC leaked"); strings.Contains(got, "MIIEvQ") {
		t.Errorf("PEM line not redacted: %q", got)
	}
}

// TestWriterStreams: a secret split across Writes at any point, or longer
// than the buffer's hold-back of the shorter ones, is still redacted; text
// without secrets passes byte for byte.
func TestWriterStreams(t *testing.T) {
	var s Set
	secret := `pa"ss/word<&>-` + strings.Repeat("x", 40)
	s.Add(secret, "other-secret-value")
	text := strings.Repeat("filler ", 20000) + secret + " mid " + jsonEscape(secret, false) + " " + `pa\"ss\/word\u003c\u0026\u003e-` + strings.Repeat("x", 40) + " end other-secret-value"
	for _, step := range []int{1, 7, 4096, 70000, len(text)} {
		var out bytes.Buffer
		w := s.Writer(&out)
		for i := 0; i < len(text); i += step {
			w.Write([]byte(text[i:min(i+step, len(text))]))
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if strings.Contains(got, "word") || strings.Contains(got, "other-secret") || strings.Count(got, Placeholder) != 4 {
			t.Errorf("step %d: %d placeholders, tail %q", step, strings.Count(got, Placeholder), got[len(got)-200:])
		}
		if !strings.HasPrefix(got, strings.Repeat("filler ", 20000)) || !strings.HasSuffix(got, " end "+Placeholder) {
			t.Errorf("step %d: text around the secrets changed", step)
		}
	}
}
