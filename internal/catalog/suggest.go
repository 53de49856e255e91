package catalog

import (
	"sort"
	"strings"
)

// Suggest returns up to n candidates closest to s, for "did you mean"
// messages: candidates containing s (at least 3 characters) first, then
// those within an edit distance of about a third of s's length. normalize
// (nil: none) is applied to s and to each candidate before comparing.
func Suggest(s string, candidates []string, normalize func(string) string, n int) []string {
	if normalize == nil {
		normalize = func(s string) string { return s }
	}
	q := normalize(s)
	if q == "" {
		return nil
	}
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	limit := max(len(q)/3+1, 2)
	for _, name := range candidates {
		k := normalize(name)
		d := levenshtein(q, k)
		switch {
		case strings.Contains(k, q) && len(q) >= 3:
			cands = append(cands, cand{name, d - 100}) // substrings rank first
		case d <= limit:
			cands = append(cands, cand{name, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for _, c := range cands {
		if len(out) == n {
			break
		}
		if len(out) > 0 && out[len(out)-1] == c.name {
			continue
		}
		out = append(out, c.name)
	}
	return out
}

// levenshtein is the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
