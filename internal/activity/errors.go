package activity

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/httpclient"
)

// AF error codes the client or its callers branch on (docs/api-facts.md,
// Error codes).
const (
	CodeNoPermission        = "AF10001"
	CodeTenantMismatch      = "AF20010"
	CodeTenantMissing       = "AF20011"
	CodeTenantMisconfigured = "AF20012"
	CodeTenantInvalid       = "AF20013"
	CodeInvalidContentType  = "AF20020"
	CodeNoSubscription      = "AF20022"
	CodeSubscriptionOff     = "AF20023"
	CodeAlreadyEnabled      = "AF20024"
	CodeBadTimeWindow       = "AF20030"
	CodeStalePage           = "AF20031"
	CodeContentMissing      = "AF20050"
	CodeContentExpired      = "AF20051"
	CodeContentIDInvalid    = "AF20052"
	CodeBadTimeWindow2      = "AF20055"
	CodeThrottled           = "AF429"
	CodeInternal            = "AF50000"
	CodeInternal5           = "AF50005"
	CodeInternal6           = "AF50006"
)

// APIError is an error answer of the Management Activity API: the HTTP status,
// the AF code and message of the body ({"error":{"code","message"}}), and what
// the client was doing. Error() explains the code and the fix for a user.
type APIError struct {
	Op          string // what the client was doing, e.g. "list content"
	ContentType string // the content type involved, when there is one
	Status      int    // HTTP status
	Code        string // AF code, "" when the body had none
	Message     string // the API's message (or a snippet of the body)
	Attempts    int    // how many times the request was sent
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.ContentType != "" {
		b.WriteString(" ")
		b.WriteString(e.ContentType)
	}
	fmt.Fprintf(&b, ": HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(strings.TrimRight(e.Message, ". "))
		b.WriteString(".")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if hint := e.Hint(); hint != "" {
		b.WriteString(" ")
		b.WriteString(hint)
	}
	return b.String()
}

// Hint explains the error code and says what to do, for the user.
func (e *APIError) Hint() string {
	ct := e.ContentType
	if ct == "" {
		ct = "<content type>"
	}
	switch e.Code {
	case CodeNoPermission:
		return "The application lacks the ActivityFeed.Read permission (and ActivityFeed.ReadDlp for DLP.All): grant it as an application permission in the Azure app registration, give admin consent, then get a new token."
	case CodeTenantMismatch:
		return "The tenant in the request URL is not the tenant of the access token: check the tenant ID in the \"Token or Tenant ID\" parameter and that the app is consented in that tenant."
	case CodeTenantMissing:
		return "The tenant does not exist or was deleted: check the tenant ID."
	case CodeTenantMisconfigured:
		return "Microsoft reports the tenant as incorrectly configured: check that unified audit logging is turned on (it can take 60 minutes to take effect)."
	case CodeTenantInvalid:
		return "The tenant ID is not a valid GUID: check the \"Token or Tenant ID\" parameter."
	case CodeInvalidContentType:
		return "The content type is not valid: use one of " + strings.Join(ContentTypes, ", ") + "."
	case CodeNoSubscription:
		return "No subscription for " + ct + ": run ms-management-activity-start-subscription content_type=" + ct + "; new subscriptions can take up to 12 hours to show content."
	case CodeSubscriptionOff:
		return "The subscription to " + ct + " was disabled by an administrator: re-enable it with ms-management-activity-start-subscription content_type=" + ct + " only if that was not on purpose."
	case CodeAlreadyEnabled:
		return "The subscription is already enabled."
	case CodeBadTimeWindow, CodeBadTimeWindow2:
		return "The time window was refused: give both start_time and end_time or neither, start before end, at most 24 hours apart, and start no more than 7 days ago (UTC)."
	case CodeStalePage:
		return "The API refused its own next-page link (stale paging): run the command again."
	case CodeContentMissing:
		return "The content blob does not exist."
	case CodeContentExpired:
		return "The content blob expired: blobs can be retrieved for 7 days only."
	case CodeContentIDInvalid:
		return "The content ID in the blob URL is invalid."
	case CodeThrottled:
		return "Microsoft throttled the requests: lower requests_per_minute or download_concurrency, check that publisher_identifier is your tenant's GUID, and try again later."
	case CodeInternal, CodeInternal5, CodeInternal6:
		return "Microsoft reported an internal error: try again later."
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return "The access token was refused even after getting a new one: check the credentials and that the app has the ActivityFeed.Read permission."
	case e.Status == http.StatusForbidden:
		return "Access was denied: check the app's ActivityFeed.Read / ActivityFeed.ReadDlp permissions and admin consent."
	case e.Status == http.StatusNotFound:
		return "The URL was not found: check the base_url parameter (e.g. https://manage.office.com/api/v1.0/)."
	case e.Status == http.StatusTooManyRequests:
		return "Microsoft throttled the requests: lower requests_per_minute or download_concurrency and try again later."
	case e.Status >= 500:
		return "The service is failing: try again later."
	}
	return ""
}

// Skippable reports whether the error concerns one content blob that is gone
// or unusable (AF20050/AF20051/AF20052), so a listing can go on without it.
func (e *APIError) Skippable() bool {
	switch e.Code {
	case CodeContentMissing, CodeContentExpired, CodeContentIDInvalid:
		return true
	}
	return false
}

// throttled reports whether the answer is throttling (HTTP 429 or AF429,
// which can arrive as HTTP 403).
func (e *APIError) throttled() bool {
	return e.Status == http.StatusTooManyRequests || e.Code == CodeThrottled
}

// retryable reports whether sending the same request again may succeed.
func (e *APIError) retryable() bool {
	switch e.Code {
	case CodeThrottled, CodeInternal, CodeInternal5, CodeInternal6:
		return true
	}
	if e.Skippable() {
		return false
	}
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// ErrorCode returns the AF code of err when it is (or wraps) an *APIError,
// else "".
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// IsSkippable reports whether err concerns one content blob that can be
// skipped (AF20050/51/52 or content that could not be decoded), so the
// rest of a listing can still be used.
func IsSkippable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Skippable()
	}
	var ce *ContentError
	return errors.As(err, &ce)
}

// ContentError is a content blob whose body is not a JSON array of records
// (truncated, malformed, or larger than the per-blob cap).
type ContentError struct {
	ContentID string
	Reason    string
	// Truncated: the body ended inside the JSON (retried, as a cut
	// connection would be). TooLarge: the body exceeded the per-blob cap.
	Truncated, TooLarge bool
}

func (e *ContentError) Error() string {
	return fmt.Sprintf("content blob %s is unusable: %s", e.ContentID, e.Reason)
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// parseAPIError builds an *APIError from a non-2xx response body.
func parseAPIError(op, contentType string, status int, body []byte) *APIError {
	e := &APIError{Op: op, ContentType: contentType, Status: status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code = strings.TrimSpace(env.Error.Code)
		e.Message = strings.TrimSpace(env.Error.Message)
		return e
	}
	// Not the documented shape (a gateway's HTML or text page): keep a
	// short, single-line snippet of its text.
	text := string(body)
	if strings.Contains(text, "<") {
		text = htmlTag.ReplaceAllString(text, " ")
	}
	s := strings.Join(strings.Fields(text), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = http.StatusText(status)
	}
	e.Message = s
	return e
}

// transportRetryable classifies an error from sending a request or reading
// its body: connection failures and timeouts are worth another attempt;
// certificate errors and unknown hosts are not (they will not fix
// themselves within a command's run).
func transportRetryable(err error) bool {
	if err == nil {
		return false
	}
	if IsCertificateError(err) {
		return false
	}
	var oe *httpclient.OriginError
	var rl *httpclient.RedirectLimitError
	if errors.As(err, &oe) || errors.As(err, &rl) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	if strings.Contains(err.Error(), "unsupported protocol scheme") {
		return false
	}
	// A TLS version or cipher mismatch will not heal on retry: the server
	// and our minimum (TLS 1.2) disagree.
	var alert tls.AlertError
	if errors.As(err, &alert) || strings.Contains(err.Error(), "protocol version not supported") ||
		strings.Contains(err.Error(), "tls: no supported versions") || strings.Contains(err.Error(), "handshake failure") {
		return false
	}
	// Connection refused/reset, EOF mid-response, timeouts, "server closed
	// idle connection": transient in practice.
	return true
}

// IsCertificateError reports a failed TLS certificate verification, typed or
// (from libraries that flatten errors to text) by its x509 message.
func IsCertificateError(err error) bool {
	var (
		tlsVerify   *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		certInvalid x509.CertificateInvalidError
	)
	if errors.As(err, &tlsVerify) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &certInvalid) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "x509: ") || strings.Contains(msg, "tls: failed to verify certificate")
}
