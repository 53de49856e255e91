package emulator

import (
	"testing"
	"time"
)

// BenchmarkRenderBlob measures rendering one 500-record blob, the cost a
// lazy generation pays per blob GET.
func BenchmarkRenderBlob(b *testing.B) {
	gen := newGeneration(feedTenantA, "Audit.SharePoint", 1, Generation{Seed: 1, Blobs: 10, RecordsPerBlob: 500, Span: time.Hour, Delay: time.Minute, LateBy: time.Hour, DuplicateFraction: 0.02, Start: feedT0})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(gen.renderBlob(3))
	}
	b.SetBytes(int64(n))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/record")
}

// BenchmarkGenerateLazyMillion measures setting up a 1M-record lazy window.
func BenchmarkGenerateLazyMillion(b *testing.B) {
	for b.Loop() {
		s := NewServer()
		s.Generate(feedTenantA, Generation{Seed: 1, ContentTypes: []string{"Audit.General"}, Blobs: 2000, RecordsPerBlob: 500, Lazy: true})
		s.Close()
	}
}
