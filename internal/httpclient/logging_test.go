package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLoggingOneLinePerRequest: at debug level every request gives one line
// with method, URL (secret-bearing query values hidden), status, bytes,
// duration and attempt; at info level none (issue 17: --log-level debug
// showed no requests).
func TestLoggingOneLinePerRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, "nope", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(`[1,2,3]`))
	}))
	defer srv.Close()

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var stats Stats
	c := WithLogging(srv.Client(), logger, &stats)

	ctx := WithAttempt(context.Background(), 2)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/feed?PublisherIdentifier=p&code=SECRETCODE&client_secret=S3CR3T&sig=abc", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	resp, err = c.Get(srv.URL + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = c.Get("http://127.0.0.1:1/refused")
	if err == nil {
		t.Fatal("request to a closed port succeeded")
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 requests:\n%s", len(lines), buf.String())
	}
	var first, second, third map[string]any
	for i, v := range []*map[string]any{&first, &second, &third} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"method", "url", "status", "bytes", "duration", "attempt"} {
		if _, ok := first[k]; !ok {
			t.Errorf("line has no %q: %s", k, lines[0])
		}
	}
	if first["msg"] != "HTTP request" || first["method"] != "GET" || first["status"] != float64(200) || first["bytes"] != float64(7) || first["attempt"] != float64(2) {
		t.Errorf("first line = %s", lines[0])
	}
	if u := first["url"].(string); strings.Contains(u, "SECRETCODE") || strings.Contains(u, "S3CR3T") || !strings.Contains(u, "PublisherIdentifier=p") || !strings.Contains(u, "/feed") {
		t.Errorf("url = %s", u)
	}
	if second["status"] != float64(404) || second["attempt"] != float64(1) {
		t.Errorf("second line = %s", lines[1])
	}
	if third["error"] == nil || third["status"] != nil {
		t.Errorf("a failed request logs its error and no status: %s", lines[2])
	}
	if got := stats.Snapshot(); got.Requests != 3 || got.ErrorStatus != 1 || got.NoAnswer != 1 || got.Bytes != 7 {
		t.Errorf("stats = %+v", got)
	}

	buf.Reset()
	quiet := WithLogging(srv.Client(), slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)
	resp, err = quiet.Get(srv.URL + "/feed")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if buf.Len() != 0 {
		t.Errorf("info level logged a request: %s", buf.String())
	}
}
