// Package grapheme tells whether a string is one user-perceived character
// (one extended grapheme cluster of Unicode UAX #29), as a reaction emoji
// must be. It wraps github.com/rivo/uniseg so the rules stay on the
// standard library.
package grapheme

import "github.com/rivo/uniseg"

// IsOne reports whether s is exactly one grapheme cluster: "👍", "👍🏽",
// "🇫🇷" and "👨‍👩‍👧" are; "", "ab" and "👍👍" are not.
func IsOne(s string) bool {
	return s != "" && uniseg.GraphemeClusterCount(s) == 1
}
