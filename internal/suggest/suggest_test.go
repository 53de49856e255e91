package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"list-content", "lst-content", 1},
		{"café", "cafe", 1}, // runes, not bytes
		{"flaw", "lawn", 2},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"list-content", "list-subscriptions", "start-subscription", "help"}
	for _, tc := range []struct{ s, want string }{
		{"lst-content", "list-content"},
		{"LIST-CONTENT", "list-content"},   // case-insensitive
		{"start", "start-subscription"},    // a prefix of 3 or more counts as one edit
		{"hlp", "help"},                    // 1 edit, within the floor of 2
		{"xyz", ""},                        // nothing near
		{"completely-different-words", ""}, // beyond a third of its length
		{"list-subscription", "list-subscriptions"},
	} {
		if got := Closest(tc.s, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
