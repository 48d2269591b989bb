package bench_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bench"
)

func TestPlan(t *testing.T) {
	w := bench.DefaultWorkload()
	p, err := w.NewPlan(100000, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 10% online, paired; 20 msgs, 5 media, 4 sessions per user per day, 5x.
	if p.Online != 10000 {
		t.Errorf("online %d, want 10000", p.Online)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"rate", p.Rate, 100000 * 20 * 5 / 86400.0}, {"media", p.Media, 100000 * 5 * 5 / 86400.0},
		{"connects", p.Connects, 100000 * 4 * 5 / 86400.0}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s %g, want %g", c.name, c.got, c.want)
		}
	}
	memberships, over := 0, 0
	for k, g := range p.Groups {
		memberships += len(g)
		seen := map[int]bool{}
		for _, i := range g {
			if i < 0 || i >= p.Online || seen[i] {
				t.Fatalf("group %d members %v: out of range or repeated", k, g)
			}
			seen[i] = true
		}
		if p.Sizes[k] < 3 || p.Sizes[k] > 500 {
			t.Errorf("group %d daily size %d outside the bins", k, p.Sizes[k])
		}
		if want := max(2, int(math.Round(float64(p.Sizes[k])*0.1))); len(g) != want {
			t.Errorf("group %d of %d daily members has %d online, want %d", k, p.Sizes[k], len(g), want)
		}
		if p.Sizes[k] > 200 {
			over++
		}
	}
	// Two memberships per online user, give or take the last group.
	if memberships < 20000 || memberships > 20000+50 {
		t.Errorf("%d memberships, want about 20000", memberships)
	}
	// 5% of groups are 201-500 members: thousands of groups make that
	// share land within a few points.
	if share := float64(over) / float64(len(p.Groups)); share < 0.03 || share > 0.07 {
		t.Errorf("%.3f of groups above 200 members, want about 0.05", share)
	}
	if p.Churners < 2 || p.Hold <= 0 || len(p.Contacts) != p.Online || p.Contacts[5][0] >= p.Churners {
		t.Errorf("churners %d, hold %v, contacts %d", p.Churners, p.Hold, len(p.Contacts))
	}
	// The same seed gives the same plan, another seed another.
	q, _ := w.NewPlan(100000, 5, 1)
	o, _ := w.NewPlan(100000, 5, 2)
	if !reflect.DeepEqual(p, q) || reflect.DeepEqual(p.Groups, o.Groups) {
		t.Error("plans do not follow their seed")
	}
}

func TestPlanSmall(t *testing.T) {
	w := bench.DefaultWorkload()
	p, err := w.NewPlan(3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	// At least one pair online; groups no bigger than who is online.
	if p.Online != 2 {
		t.Errorf("online %d, want 2", p.Online)
	}
	for _, g := range p.Groups {
		if len(g) != 2 {
			t.Errorf("group %v, want both online users", g)
		}
	}
}

func TestPlanBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		edit     func(*bench.Workload)
		users    int
		compress float64
	}{
		"no users":       {func(*bench.Workload) {}, 0, 1},
		"no compress":    {func(*bench.Workload) {}, 10, 0},
		"online 0":       {func(w *bench.Workload) { w.Online = 0 }, 10, 1},
		"online above 1": {func(w *bench.Workload) { w.Online = 1.5 }, 10, 1},
		"group share":    {func(w *bench.Workload) { w.GroupShare = -0.1 }, 10, 1},
		"read share NaN": {func(w *bench.Workload) { w.ReadShare = math.NaN() }, 10, 1},
		"no messages":    {func(w *bench.Workload) { w.MsgsPerDay = 0 }, 10, 1},
		"media > msgs":   {func(w *bench.Workload) { w.MediaPerDay = 21 }, 10, 1},
		"bad bin":        {func(w *bench.Workload) { w.GroupSizes = []bench.SizeBin{{Min: 1, Max: 5, Share: 1}} }, 10, 1},
		"no bin share":   {func(w *bench.Workload) { w.GroupSizes = []bench.SizeBin{{Min: 3, Max: 5}} }, 10, 1},
		"negative":       {func(w *bench.Workload) { w.Sessions = -1 }, 10, 1},
	} {
		w := bench.DefaultWorkload()
		tc.edit(&w)
		if _, err := w.NewPlan(tc.users, tc.compress, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
