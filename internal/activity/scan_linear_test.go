package activity

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/secops-go/ms-management-activity/internal/testutil"
)

// filler is record text as audit records have it: mostly plain, an escape
// now and then.
const filler = `C:\\Users\\alice\\Documents\\Quarterly report (final) – review.docx accessed from 10.0.0.1 by alice@contoso.com; `

// bigRecordBlob is a blob of one record of about n bytes (a long string
// field, plus nested values so the scan crosses every kind of token).
func bigRecordBlob(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`[{"Id":"big","CreationTime":"2026-11-28T10:00:00","Nested":{"a":[1,2.5e3,true,null,"x\"y"]},"Data":"`)
	b.WriteString(strings.Repeat(filler, n/len(filler)))
	b.WriteString(`"},{"Id":"after"}]`)
	return b.Bytes()
}

// TestBlobDecoderLinearInBytes: whatever the size of the reads, the record
// parser examines each byte of the body a bounded number of times. Before
// the scanner resumed where it stopped, every short read restarted the
// record from its first byte (quadratic: a 16 MiB record through 16 KiB
// reads was examined ~500 times over).
func TestBlobDecoderLinearInBytes(t *testing.T) {
	body := bigRecordBlob(16 << 20)
	for _, chunk := range []int{1, 16 << 10} {
		d := newBlobDecoder(&chunkReader{b: body, n: chunk}, 1<<30, "big")
		var ids []string
		for {
			r, err := d.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
			ids = append(ids, r.ID)
		}
		if len(ids) != 2 || ids[0] != "big" || ids[1] != "after" {
			t.Fatalf("chunk %d: records %q", chunk, ids)
		}
		if limit := 3 * int64(len(body)); d.examined > limit {
			t.Errorf("chunk %d: the parser examined %d bytes of a %d-byte body (more than %d: not linear)", chunk, d.examined, len(body), limit)
		}
	}
}

// BenchmarkDecodeOneBigRecord16KiBReads decodes one 16 MiB record read 16
// KiB at a time (a TLS record per Read, as in production); compare its MB/s
// with BenchmarkDecodeSmallRecords16KiBReads, the same bytes as 1 KiB
// records.
func BenchmarkDecodeOneBigRecord16KiBReads(b *testing.B) {
	benchDecode(b, bigRecordBlob(16<<20))
}

func BenchmarkDecodeSmallRecords16KiBReads(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("[")
	rec := `{"Id":"small","CreationTime":"2026-11-28T10:00:00","Data":"` + strings.Repeat(filler, 9) + `"}`
	for i := 0; buf.Len() < 16<<20; i++ {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString(rec)
	}
	buf.WriteString("]")
	benchDecode(b, buf.Bytes())
}

func benchDecode(b *testing.B, body []byte) {
	b.SetBytes(int64(len(body)))
	cpu0 := testutil.ProcessCPU()
	defer func() {
		// Per CPU-second: meaningful when other work shares the machine.
		b.ReportMetric(float64(len(body))*float64(b.N)/1e6/(testutil.ProcessCPU()-cpu0).Seconds(), "MB/cpu-s")
	}()
	for b.Loop() {
		d := newBlobDecoder(&chunkReader{b: body, n: 16 << 10}, 1<<30, "x")
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
}
