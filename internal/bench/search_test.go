package bench_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bench"
)

func TestSearch(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		start, limit, rounds int
		factor               float64
		capacity             int // the most users that hold
		best                 int // what the search reports
		tries                int // at most
	}{
		{"steps up then bisects", 1000, 0, 10, 2, 5300, 5250, 9},
		{"exact", 1000, 0, 10, 2, 4000, 4000, 9},
		{"starts too high", 10000, 0, 10, 2, 3000, 2968, 9},
		{"never holds", 8, 0, 10, 2, 0, 0, 4},
		{"stops at the limit", 1000, 3000, 10, 2, 1 << 30, 3000, 3},
		{"no bisection", 1000, 0, 0, 2, 5300, 4000, 4},
		{"one at a time", 1, 0, 10, 1.5, 3, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tried := map[int]bool{}
			steps, best, err := bench.Search(context.Background(), tc.start, tc.factor, tc.limit, tc.rounds,
				func(_ context.Context, n int) (bench.Step, error) {
					if tried[n] {
						t.Errorf("tried %d twice", n)
					}
					if tc.limit > 0 && n > tc.limit {
						t.Errorf("tried %d, over the limit %d", n, tc.limit)
					}
					tried[n] = true
					return bench.Step{Holds: n <= tc.capacity}, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if best != tc.best {
				t.Errorf("best %d, want %d (steps %+v)", best, tc.best, steps)
			}
			if len(steps) > tc.tries {
				t.Errorf("%d tries, want at most %d", len(steps), tc.tries)
			}
			for _, s := range steps {
				if s.Holds != (s.Users <= tc.capacity) {
					t.Errorf("step %+v recorded wrongly", s)
				}
			}
			// best held and, unless it is the limit, within 5% of what held.
			if best > 0 && tc.limit == 0 && tc.rounds > 0 && float64(tc.capacity-best) > float64(best)/20+1 {
				t.Errorf("best %d too far below the capacity %d", best, tc.capacity)
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, best, err := bench.Search(context.Background(), 100, 2, 0, 4, func(_ context.Context, n int) (bench.Step, error) {
		if calls++; calls == 3 {
			return bench.Step{}, boom
		}
		return bench.Step{Holds: true}, nil
	})
	if !errors.Is(err, boom) || best != 200 {
		t.Errorf("err %v, best %d; want boom after 200 held", err, best)
	}
	for _, bad := range []struct {
		start  int
		factor float64
	}{{0, 2}, {10, 1}, {10, 0.5}} {
		if _, _, err := bench.Search(context.Background(), bad.start, bad.factor, 0, 1, nil); err == nil {
			t.Errorf("start %d factor %g: no error", bad.start, bad.factor)
		}
	}
}
