package commands

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/activity"
	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// BenchmarkListContentRender measures list-content's CPU path without HTTP:
// decode blob bodies, filter, and build Contents, context and markdown, for
// 100 blobs × 500 realistic records. Run on one core with
//
//	go test ./commands -run '^$' -bench ListContentRender -cpu 1 -benchmem
func BenchmarkListContentRender(b *testing.B) {
	var blobs [][]byte
	size := 0
	for i := 0; i < 100; i++ {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for j := 0; j < 500; j++ {
			if j > 0 {
				buf.WriteByte(',')
			}
			wl, rt, op := "SharePoint", 6, "FileAccessed"
			if j%3 == 0 {
				wl, rt, op = "MicrosoftTeams", 25, "MemberAdded"
			}
			fmt.Fprintf(&buf, `{"CreationTime":"2026-11-28T10:%02d:%02d","Id":"%08x-1111-4b5e-9a57-%012x","Operation":%q,"OrganizationId":"c0ffee00-0000-4000-8000-000000000001","RecordType":%d,"UserKey":"i:0h.f|membership|10032000deadbeef@live.com","UserType":0,"Version":1,"Workload":%q,"ClientIP":"2001:db8::%x","ObjectId":"https://contoso.sharepoint.com/sites/soc/Shared Documents/report-%d.docx","UserId":"user%d@contoso.com","ResultStatus":"Succeeded","Scope":0,"CorrelationId":"2b0c5f12-0000-4000-8000-%012x","EventSource":"SharePoint","ItemType":"File","ListId":"a1b2c3d4-0000-4000-8000-000000000001","Site":"e5f6a7b8-0000-4000-8000-000000000002","UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","WebId":"c9d0e1f2-0000-4000-8000-000000000003","SourceFileExtension":"docx","SiteUrl":"https://contoso.sharepoint.com/sites/soc/","SourceFileName":"report-%d.docx","SourceRelativeUrl":"Shared Documents","AppAccessContext":{"AADSessionId":"x","CorrelationId":"y","UniqueTokenId":"z"}}`,
				j%60, j%60, i, j, op, rt, wl, j, j, j, j, j)
		}
		buf.WriteByte(']')
		size += buf.Len()
		blobs = append(blobs, buf.Bytes())
	}
	filter, err := activity.ParseFilter("SharePointFileOperation,25", "sharepoint, microsoftteams", "")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := testutil.ProcessCPU()
	records := 0
	for b.Loop() {
		out := newContentOutput("Content for content type Audit.SharePoint")
		for _, blob := range blobs {
			err := activity.DecodeBlob(bytes.NewReader(blob), 0, func(r *activity.Record) error {
				records++
				if filter.Match(r) {
					out.add(r)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		_ = out.humanReadable()
		_ = out.contents()
		_ = out.context()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records)/(testutil.ProcessCPU()-cpu0).Seconds(), "records/cpu-s")
}
