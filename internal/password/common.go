package password

import (
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

// Common is the set of passwords too common to allow: zxcvbn's list of
// the 30,000 most used passwords (from leaked password sets), those long
// enough to pass the length rule, compared case-insensitively.
type Common struct {
	set map[string]struct{}
}

// NewCommon builds the set (a few milliseconds; build it once).
func NewCommon(minLen int) *Common {
	list := frequency.FrequencyLists["passwords"]
	c := &Common{set: make(map[string]struct{}, len(list)/4)}
	for _, p := range list {
		if len(p) >= minLen {
			c.set[strings.ToLower(p)] = struct{}{}
		}
	}
	return c
}

// Has reports whether pw is on the list.
func (c *Common) Has(pw string) bool {
	_, ok := c.set[strings.ToLower(pw)]
	return ok
}

// Len is the number of passwords on the list.
func (c *Common) Len() int { return len(c.set) }
