package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/secops-go/ms-management-activity/internal/clock"
	"github.com/secops-go/ms-management-activity/internal/emulator"
)

// A test seeds a tenant, then talks plain HTTP to the emulator as the client
// would to manage.office.com.
func Example() {
	clk := clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	s := emulator.NewServer(emulator.WithClock(clk))
	defer s.Close()

	const tenant = "11111111-1111-4111-8111-111111111111"
	s.Subscribe(tenant, "Audit.SharePoint")
	s.AddBlob(tenant, "Audit.SharePoint", clk.Now().Add(-time.Hour),
		json.RawMessage(`{"Id":"0b8a2c44-0000-4000-8000-000000000001","RecordType":6,"CreationTime":"2026-11-28T10:59:02","Operation":"FileAccessed","Workload":"SharePoint"}`))
	s.FailNext("blob", 1, emulator.Throttle(2*time.Second)) // the first blob GET is throttled

	token, _ := s.IssueToken(tenant, time.Hour)
	get := func(url string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := s.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	_, body := get(s.BaseURL() + tenant + "/activity/feed/subscriptions/content?contentType=Audit.SharePoint&PublisherIdentifier=" + tenant)
	var blobs []struct{ ContentURI, ContentCreated string }
	_ = json.Unmarshal(body, &blobs)
	fmt.Println(len(blobs), blobs[0].ContentCreated)

	resp, _ := get(blobs[0].ContentURI + "?PublisherIdentifier=" + tenant)
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	resp, body = get(blobs[0].ContentURI + "?PublisherIdentifier=" + tenant)
	fmt.Println(resp.StatusCode, len(s.Records(tenant, "Audit.SharePoint", clk.Now().Add(-24*time.Hour), clk.Now())), json.Valid(body))
	// Output:
	// 1 2026-11-28T11:00:00.000Z
	// 429 2
	// 200 1 true
}
