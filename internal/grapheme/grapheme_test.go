package grapheme_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/grapheme"
)

func TestIsOne(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"👍", true},
		{"👍🏽", true},    // with a skin tone modifier
		{"🇫🇷", true},    // a flag: two regional indicators
		{"👨‍👩‍👧", true}, // a family joined by ZWJ
		{"❤️", true},    // with a variation selector
		{"a", true},
		{"é", true}, // e + combining acute
		{"", false},
		{"ab", false},
		{"👍👍", false},
		{"👍 ", false},
	} {
		if got := grapheme.IsOne(tc.s); got != tc.want {
			t.Errorf("IsOne(%q) = %v; want %v", tc.s, got, tc.want)
		}
	}
}
