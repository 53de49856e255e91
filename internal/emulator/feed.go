package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// feedRoot is the path prefix of every Management Activity API operation.
const feedRoot = "/api/v1.0/{tenant}/activity/feed/"

func (s *Server) registerFeed(mux *http.ServeMux) {
	mux.HandleFunc("POST "+feedRoot+"subscriptions/start", s.feedEndpoint("subscriptions/start", "StartSubscription", s.handleStart))
	mux.HandleFunc("POST "+feedRoot+"subscriptions/stop", s.feedEndpoint("subscriptions/stop", "StopSubscription", s.handleStop))
	mux.HandleFunc("GET "+feedRoot+"subscriptions/list", s.feedEndpoint("subscriptions/list", "ListSubscriptions", s.handleList))
	mux.HandleFunc("GET "+feedRoot+"subscriptions/content", s.feedEndpoint("subscriptions/content", "ListContent", s.handleContent))
	mux.HandleFunc("GET "+feedRoot+"audit/{contentId}", s.feedEndpoint("blob", "GetBlob", s.handleBlob))
}

// response is a handler's answer, buffered so faults can mangle it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (resp *response) writeTo(w http.ResponseWriter) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func jsonResponse(status int, body []byte) *response {
	return &response{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: body}
}

func afBody(code, msg string) []byte {
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	return b
}

func afError(status int, code, msg string) *response {
	return jsonResponse(status, afBody(code, msg))
}

func writeAFError(w http.ResponseWriter, status int, code, msg string) {
	afError(status, code, msg).writeTo(w)
}

// writeUnauthorized answers 401 the way the API's ASP.NET front end does for
// a missing, invalid or expired bearer token.
func writeUnauthorized(w http.ResponseWriter, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="", `+detail)
	jsonResponse(http.StatusUnauthorized, []byte(`{"Message":"Authorization has been denied for this request."}`)).writeTo(w)
}

// publisherID returns the request's PublisherIdentifier (the API matches the
// parameter name case-insensitively, and beats sends publisherIdentifier).
func publisherID(r *http.Request) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "PublisherIdentifier") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// LastPublisherIdentifier returns the PublisherIdentifier of the most recent
// Management Activity API request that carried one.
func (s *Server) LastPublisherIdentifier() string {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.feed.publisherLast
}

// MissingPublisherIdentifier returns how many Management Activity API
// requests (blob GETs and nextPage follow-ups included) lacked a
// PublisherIdentifier; a well-behaved client keeps it at 0.
func (s *Server) MissingPublisherIdentifier() int {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.feed.publisherMissing
}

// feedEndpoint wraps a handler with what every operation shares: counting,
// PublisherIdentifier bookkeeping, authentication, the tenant check,
// latency and faults.
func (s *Server) feedEndpoint(name, method string, h func(r *http.Request, tenant string) *response) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.count(name)
		pub := publisherID(r)
		s.feed.mu.Lock()
		if pub == "" {
			s.feed.publisherMissing++
		} else {
			s.feed.publisherLast = pub
		}
		s.feed.mu.Unlock()

		tokTenant, err := s.authenticate(r)
		if err != nil {
			writeUnauthorized(w, `error="invalid_token"`)
			return
		}
		urlTenant := r.PathValue("tenant")
		if !strings.EqualFold(tokTenant, urlTenant) {
			writeAFError(w, http.StatusUnauthorized, "AF20010", fmt.Sprintf(
				"The tenant ID passed in the URL (%s) does not match the tenant ID passed in the access token (%s).", urlTenant, tokTenant))
			return
		}
		f, latency := s.nextFault(name)
		if !sleepCtx(r.Context(), latency) {
			return
		}
		if f.before(w, r, method) {
			return
		}
		f.write(r.Context(), w, h(r, urlTenant))
	}
}

// contentTypeParam reads and canonicalizes the contentType query parameter.
func contentTypeParam(r *http.Request) (string, *response) {
	raw := r.URL.Query().Get("contentType")
	if raw == "" {
		return "", afError(http.StatusBadRequest, "AF20001", "Missing parameter: contentType.")
	}
	ct, ok := canonicalContentType(raw)
	if !ok {
		return "", afError(http.StatusBadRequest, "AF20020", fmt.Sprintf("The specified content type is not valid: %s.", raw))
	}
	return ct, nil
}

func subscriptionJSON(ct string, sub *subscription) map[string]any {
	var wh any
	if sub.webhook != nil {
		wh = map[string]any{"status": sub.status, "address": sub.webhook.Address, "authId": sub.webhook.AuthID, "expiration": sub.webhook.Expiration}
	}
	return map[string]any{"contentType": ct, "status": sub.status, "webhook": wh}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Server) handleStart(r *http.Request, tenantID string) *response {
	ct, bad := contentTypeParam(r)
	if bad != nil {
		return bad
	}
	var body struct {
		Webhook *webhook `json:"webhook"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			return afError(http.StatusBadRequest, "AF20002", "Invalid parameter type: webhook. Expected type: object.")
		}
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	sub := t.subs[ct]
	if sub != nil && sub.status == "enabled" && (body.Webhook == nil || sameWebhook(body.Webhook, sub.webhook)) {
		return afError(http.StatusBadRequest, "AF20024", "The subscription is already enabled. No property change.")
	}
	if sub == nil {
		sub = &subscription{}
		t.subs[ct] = sub
	}
	sub.status, sub.byAdmin = "enabled", false
	if body.Webhook != nil {
		sub.webhook = body.Webhook
	}
	return jsonResponse(http.StatusOK, mustJSON(subscriptionJSON(ct, sub)))
}

func sameWebhook(a, b *webhook) bool {
	if a == nil || b == nil {
		return a == b
	}
	ae, be := "", ""
	if a.Expiration != nil {
		ae = *a.Expiration
	}
	if b.Expiration != nil {
		be = *b.Expiration
	}
	return a.Address == b.Address && a.AuthID == b.AuthID && ae == be
}

func (s *Server) handleStop(r *http.Request, tenantID string) *response {
	ct, bad := contentTypeParam(r)
	if bad != nil {
		return bad
	}
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	sub := s.feed.tenantLocked(tenantID).subs[ct]
	if sub == nil {
		return afError(http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
	}
	sub.status = "disabled"
	return &response{status: http.StatusOK, header: http.Header{}}
}

func (s *Server) handleList(r *http.Request, tenantID string) *response {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	out := []map[string]any{}
	for _, ct := range contentTypes {
		if sub := t.subs[ct]; sub != nil {
			out = append(out, subscriptionJSON(ct, sub))
		}
	}
	return jsonResponse(http.StatusOK, mustJSON(out))
}

// apiTime renders a time as the API does: "2026-11-28T10:15:00.000Z".
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseAPITime accepts the documented formats (YYYY-MM-DD, YYYY-MM-DDTHH:MM,
// YYYY-MM-DDTHH:MM:SS) plus fractional seconds and a trailing Z, all UTC.
func parseAPITime(v string) (time.Time, bool) {
	v = strings.TrimSuffix(strings.TrimSuffix(v, "Z"), "z")
	// Parsing accepts a fractional second after the seconds even though the
	// layout has none.
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

const windowRule = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past"

// pageCursor is what a nextPage token carries: the listing it continues and
// the last blob the previous page returned.
type pageCursor struct {
	Epoch   int    `json:"p"`
	Tenant  string `json:"t"`
	Type    string `json:"c"`
	Start   int64  `json:"s"` // unix ms
	End     int64  `json:"e"`
	After   int64  `json:"a"` // contentCreated (unix ms) of the last blob returned; 0 = from the start
	AfterID string `json:"i"`
}

// pageToken signs a cursor so clients cannot forge one and stale ones are
// detectable.
func (s *Server) pageToken(c pageCursor) string {
	payload := base64.RawURLEncoding.EncodeToString(mustJSON(c))
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("nextPage:" + payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

func (s *Server) parsePageToken(tok string) (pageCursor, bool) {
	var c pageCursor
	payload, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return c, false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("nextPage:" + payload))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)[:12]) {
		return c, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return c, false
	}
	return c, true
}

// requestBase is the scheme and host the client used, so content URIs and
// NextPageUri work whatever address the server is reached at.
func requestBase(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

type contentItem struct {
	ContentURI        string `json:"contentUri"`
	ContentID         string `json:"contentId"`
	ContentType       string `json:"contentType"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

func (s *Server) handleContent(r *http.Request, tenantID string) *response {
	ct, bad := contentTypeParam(r)
	if bad != nil {
		return bad
	}
	q := r.URL.Query()
	now := s.Now()

	// Window: both or neither, ≤ 24 h, start ≥ now − 7 d, start < end.
	startRaw, endRaw := q.Get("startTime"), q.Get("endTime")
	var start, end time.Time
	switch {
	case startRaw == "" && endRaw == "":
		start, end = now.Add(-24*time.Hour), now
	case startRaw == "" || endRaw == "":
		return afError(http.StatusBadRequest, "AF20030", windowRule+".")
	default:
		var ok1, ok2 bool
		start, ok1 = parseAPITime(startRaw)
		end, ok2 = parseAPITime(endRaw)
		if !ok1 || !ok2 {
			name := "startTime"
			if ok1 {
				name = "endTime"
			}
			return afError(http.StatusBadRequest, "AF20002", fmt.Sprintf("Invalid parameter type: %s. Expected type: datetime.", name))
		}
	}
	if !start.Before(end) || end.Sub(start) > 24*time.Hour || start.Before(now.Add(-retention)) {
		return afError(http.StatusBadRequest, "AF20055", windowRule+", and the start time before the end time.")
	}

	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	t := s.feed.tenantLocked(tenantID)
	sub := t.subs[ct]
	switch {
	case sub != nil && sub.byAdmin:
		return afError(http.StatusBadRequest, "AF20023", "The subscription was disabled by a tenant admin.")
	case sub == nil || sub.status != "enabled":
		return afError(http.StatusBadRequest, "AF20022", "No subscription found for the specified content type")
	}

	cur := pageCursor{Epoch: s.feed.pageEpoch, Tenant: strings.ToLower(tenantID), Type: ct, Start: start.UnixMilli(), End: end.UnixMilli()}
	continuing := false
	if tok := q.Get("nextPage"); tok != "" {
		c, ok := s.parsePageToken(tok)
		if !ok || c.Epoch != cur.Epoch || c.Tenant != cur.Tenant || c.Type != cur.Type || c.Start != cur.Start || c.End != cur.End {
			return afError(http.StatusBadRequest, "AF20031", "Invalid nextPage Input: "+tok+".")
		}
		cur, continuing = c, c.After != 0
	}

	list := t.byType[ct]
	// First blob at or after the window start, then past the cursor.
	from := start
	if cur.After != 0 && time.UnixMilli(cur.After).After(from) {
		from = time.UnixMilli(cur.After)
	}
	i, _ := slices.BinarySearchFunc(list, from, func(b *blob, t time.Time) int { return b.created.Compare(t) })
	for cur.After != 0 && i < len(list) && list[i].created.UnixMilli() == cur.After && list[i].id <= cur.AfterID {
		i++
	}
	visible := func(b *blob) bool { return b.created.Before(end) && !b.created.After(now) }
	items := []contentItem{}
	base := requestBase(r)
	for ; i < len(list) && len(items) < s.feed.pageSize && visible(list[i]); i++ {
		b := list[i]
		items = append(items, contentItem{
			ContentURI:        base + "/api/v1.0/" + tenantID + "/activity/feed/audit/" + b.id,
			ContentID:         b.id,
			ContentType:       ct,
			ContentCreated:    apiTime(b.created),
			ContentExpiration: apiTime(b.expiration()),
		})
		if s.repeat.Load() {
			items = append(items, items[len(items)-1])
		}
	}
	resp := jsonResponse(http.StatusOK, mustJSON(items))

	next := ""
	switch {
	case s.feed.pagingLoop && continuing:
		loop := cur
		loop.After, loop.AfterID = 0, ""
		next = s.pageToken(loop)
	case i < len(list) && visible(list[i]) && len(items) > 0:
		last := list[i-1]
		c := cur
		c.After, c.AfterID = last.created.UnixMilli(), last.id
		next = s.pageToken(c)
	}
	if next != "" {
		// Like the documented example, NextPageUri keeps contentType and the
		// window and adds nextPage, but drops PublisherIdentifier: clients
		// must re-attach it. The header name is set verbatim (not
		// canonicalized) as the API spells it.
		v := url.Values{"contentType": {ct}, "startTime": {apiTime(start)}, "endTime": {apiTime(end)}, "nextPage": {next}}
		resp.header["NextPageUri"] = []string{base + r.URL.Path + "?" + v.Encode()}
	}
	return resp
}

func (s *Server) handleBlob(r *http.Request, tenantID string) *response {
	id := r.PathValue("contentId")
	if !validContentID(id) {
		return afError(http.StatusBadRequest, "AF20052", fmt.Sprintf("Content ID %s in the URL is invalid.", id))
	}
	now := s.Now()
	s.feed.mu.Lock()
	b := s.feed.tenantLocked(tenantID).blobs[id]
	expired := b != nil && b.expired
	s.feed.mu.Unlock()
	if b == nil || b.created.After(now) {
		return afError(http.StatusNotFound, "AF20050", "The specified content ("+id+") does not exist.")
	}
	if resp := s.brokenBlob(id); resp != nil {
		return resp
	}
	if expired || !now.Before(b.expiration()) {
		return afError(http.StatusBadRequest, "AF20051", "Content requested with the key "+id+" has already expired. Content older than 7 days cannot be retrieved.")
	}
	return jsonResponse(http.StatusOK, b.body())
}
