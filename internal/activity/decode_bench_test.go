package activity

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// BenchmarkDecodeBlob measures decoding (scan + common fields) of one blob
// of 500 records, without HTTP.
func BenchmarkDecodeBlob(b *testing.B) {
	body := blobBody(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d := newBlobDecoder(strings.NewReader(body), 1<<30, "x")
		for {
			_, err := d.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeBlobStdlib is the encoding/json Decoder baseline, for
// comparison with BenchmarkDecodeBlob.
func BenchmarkDecodeBlobStdlib(b *testing.B) {
	body := blobBody(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	type common struct {
		ID, CreationTime, Operation, OrganizationID, UserKey, Workload, ResultStatus, ObjectID, UserID, ClientIP string
		RecordType, UserType, Scope                                                                              int
	}
	for b.Loop() {
		dec := json.NewDecoder(strings.NewReader(body))
		if _, err := dec.Token(); err != nil {
			b.Fatal(err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				b.Fatal(err)
			}
			var c common
			if err := json.Unmarshal(raw, &c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "records/s")
}
