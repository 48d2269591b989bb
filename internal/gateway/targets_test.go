package gateway

import (
	"fmt"
	"slices"
	"testing"
)

// TestTargets: a large recipient list's connections are resolved once and
// reused only while the list is the same slice and no connection came or
// went; anything else resolves again.
func TestTargets(t *testing.T) {
	newGateway := func(users int) (*Gateway, []string) {
		g := &Gateway{byUser: make(map[string][]*conn)}
		ids := make([]string, users)
		for i := range ids {
			ids[i] = fmt.Sprintf("u%03d", i)
			if i%2 == 0 { // half the members online, one connection each
				g.byUser[ids[i]] = []*conn{{id: "c" + ids[i]}}
			}
		}
		return g, ids
	}
	register := func(g *Gateway, user string) {
		g.mu.Lock()
		g.gen++
		g.byUser[user] = append(g.byUser[user], &conn{id: "new-" + user})
		g.mu.Unlock()
	}
	for _, tc := range []struct {
		name   string
		users  int
		change func(g *Gateway, ids []string) []string // between two calls; returns the second call's recipients
		reused bool
		online int // connections the second call returns
	}{
		{"the same slice again", 100, func(_ *Gateway, ids []string) []string { return ids }, true, 50},
		{"a copy of it", 100, func(_ *Gateway, ids []string) []string { return slices.Clone(ids) }, false, 50},
		{"a shorter slice of it", 100, func(_ *Gateway, ids []string) []string { return ids[:80] }, false, 40},
		{"a member came online", 100, func(g *Gateway, ids []string) []string { register(g, ids[1]); return ids }, false, 51},
		{"a small list", targetsMin - 1, func(_ *Gateway, ids []string) []string { return ids }, false, (targetsMin) / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, ids := newGateway(tc.users)
			first := g.targets.get(g, "conv", ids)
			second := g.targets.get(g, "conv", tc.change(g, ids))
			if reused := len(first) > 0 && len(second) > 0 && &first[0] == &second[0]; reused != tc.reused {
				t.Errorf("reused the first resolution: %v; want %v", reused, tc.reused)
			}
			if len(second) != tc.online {
				t.Errorf("%d connections; want %d", len(second), tc.online)
			}
		})
	}
}

// TestTargetsBound: the entries never pass targetsMax.
func TestTargetsBound(t *testing.T) {
	g := &Gateway{byUser: make(map[string][]*conn)}
	ids := make([]string, targetsMin)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	for i := range targetsMax + 10 {
		g.targets.get(g, fmt.Sprint("conv", i), ids)
		if n := len(g.targets.entries); n > targetsMax {
			t.Fatalf("%d entries after %d conversations; want at most %d", n, i+1, targetsMax)
		}
	}
}
