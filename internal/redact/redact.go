// Package redact keeps secrets out of logs and messages. A Set holds the
// secret values known to this run (params, tokens as they are obtained); its
// slog handler and String method replace any of them, and their base64 and
// URL-encoded forms, with "[REDACTED]".
package redact

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Placeholder replaces a secret.
const Placeholder = "[REDACTED]"

// minLen: shorter values (e.g. "1", "true") would redact ordinary words.
const minLen = 6

// Set is the run's secret values. The zero value is ready; it is safe for
// concurrent use (tokens are added while downloads log).
type Set struct {
	mu    sync.RWMutex
	forms []string
	m     *matcher
}

// Add registers secret values; empty and very short values are ignored.
func (s *Set) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		v = strings.TrimSpace(v)
		if len(v) < minLen || slices.Contains(s.forms, v) { // known already: every request adds its token again
			continue
		}
		for _, f := range Forms(v) {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
			}
		}
	}
	s.m = newMatcher(s.forms)
}

// Forms returns the spellings of secret v that a message or an echoing
// server may carry: raw; JSON-escaped (as encoding/json writes it, with and
// without HTML escaping, and with "\/" for "/"); URL-encoded (query and
// path); base64 (standard and URL alphabets, padded or not); and, for a
// multi-line secret such as a PEM key, each line of 16 characters or more
// (a log may show one line of it).
func Forms(v string) []string {
	var out []string
	add := func(f string) {
		if len(f) >= minLen && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	add(v)
	for _, html := range []bool{true, false} {
		j := jsonEscape(v, html)
		add(j)
		add(strings.ReplaceAll(j, "/", `\/`))
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString([]byte(v)))
	}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				add(line)
				add(strings.ReplaceAll(line, "/", `\/`))
			}
		}
	}
	return out
}

// jsonEscape is v as the inside of a JSON string.
func jsonEscape(v string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(v)
	q := strings.TrimSuffix(b.String(), "\n")
	return q[1 : len(q)-1]
}

// String returns msg with every known secret replaced.
func (s *Set) String(msg string) string {
	m := s.matcher()
	if m == nil || !m.contains(msg) {
		return msg
	}
	out, _ := m.replace(nil, []byte(msg), len(msg))
	return string(out)
}

func (s *Set) matcher() *matcher {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m
}

// Handler wraps an slog.Handler so that every message and string-valued
// attribute (errors included) is redacted before it is written.
func (s *Set) Handler(next slog.Handler) slog.Handler { return &handler{set: s, next: next} }

type handler struct {
	set  *Set
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.set.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.set.String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = h.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.set.String(err.Error()))
		}
		return slog.String(a.Key, h.set.String(v.String()))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &handler{set: h.set, next: h.next.WithAttrs(red)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{set: h.set, next: h.next.WithGroup(name)}
}
