package activity

import (
	"fmt"
	"strings"
	"testing"
)

func TestAPIErrorClassification(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		retry     bool
		skip      bool
		hintWords string
	}{
		{403, CodeNoPermission, false, false, "ActivityFeed.Read"},
		{401, CodeTenantMismatch, false, false, "tenant"},
		{400, CodeInvalidContentType, false, false, "Audit.General"},
		{400, CodeNoSubscription, false, false, "start-subscription content_type=Audit.Exchange"},
		{400, CodeSubscriptionOff, false, false, "administrator"},
		{400, CodeAlreadyEnabled, false, false, "already enabled"},
		{400, CodeBadTimeWindow, false, false, "24 hours"},
		{400, CodeBadTimeWindow2, false, false, "7 days"},
		{400, CodeStalePage, false, false, "again"},
		{404, CodeContentMissing, false, true, "does not exist"},
		{400, CodeContentExpired, false, true, "7 days"},
		{400, CodeContentIDInvalid, false, true, "invalid"},
		{403, CodeThrottled, true, false, "requests_per_minute"},
		{429, CodeThrottled, true, false, "publisher_identifier"},
		{500, CodeInternal, true, false, "later"},
		{400, CodeInternal5, true, false, "later"},
		{400, CodeInternal6, true, false, "later"},
		{408, "", true, false, ""},
		{502, "", true, false, "later"},
		{400, "", false, false, ""},
		{404, "", false, false, "base_url"},
	}
	for _, c := range cases {
		body := fmt.Sprintf(`{"error":{"code":%q,"message":"msg for %s."}}`, c.code, c.code)
		if c.code == "" {
			body = "<html><body><h1>Gateway says no</h1></body></html>"
		}
		e := parseAPIError("list content", "Audit.Exchange", c.status, []byte(body))
		if e.Code != c.code || e.retryable() != c.retry || e.Skippable() != c.skip || IsSkippable(e) != c.skip {
			t.Errorf("%d %s: code %q retry %v skip %v", c.status, c.code, e.Code, e.retryable(), e.Skippable())
		}
		msg := e.Error()
		if !strings.Contains(msg, c.hintWords) || !strings.HasPrefix(msg, "list content Audit.Exchange: HTTP ") {
			t.Errorf("%d %s: message %q lacks %q", c.status, c.code, msg, c.hintWords)
		}
		if c.code == "" && (strings.Contains(msg, "<") || !strings.Contains(msg, "Gateway says no")) {
			t.Errorf("HTML body not reduced to text: %q", msg)
		}
	}
}
