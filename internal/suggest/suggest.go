// Package suggest finds the known name nearest to a mistyped one, for the
// "did you mean" of error messages.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns the candidate nearest to s, case-insensitively (edit
// distance at most a third of its length, at least 2; a candidate that s
// begins, with s at least 3 characters long, counts as distance 1), or "".
func Closest(s string, cands []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range cands {
		lc := strings.ToLower(c)
		d := Distance(ls, lc)
		if strings.HasPrefix(lc, ls) && len(ls) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

// Distance is the Levenshtein distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Nearest returns up to n candidates closest to s, for "did you mean"
// messages: candidates containing s (at least 3 characters) first, then
// those within an edit distance of about a third of s's length. normalize
// (nil: none) is applied to s and to each candidate before comparing.
func Nearest(s string, candidates []string, normalize func(string) string, n int) []string {
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
		d := Distance(q, k)
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
