package fetch

import "testing"

func TestChunkSize(t *testing.T) {
	for _, tc := range []struct{ need, got, done, readAhead, want int }{
		{1000, 0, 0, 8, 8},     // nothing known yet: one round of read-ahead
		{1000, 0, 0, 0, 8},     // default read-ahead 8
		{9000, 0, 4, 8, 8},     // only filtered or duplicate records so far
		{9000, 1000, 2, 8, 19}, // 500 per blob: 18 more, plus one
		{1, 1000, 2, 8, 1},     // one record to go: one blob
	} {
		if got := chunkSize(tc.need, tc.got, tc.done, tc.readAhead); got != tc.want {
			t.Errorf("chunkSize(%d, %d, %d, %d) = %d, want %d", tc.need, tc.got, tc.done, tc.readAhead, got, tc.want)
		}
	}
}
