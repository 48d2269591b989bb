package bench

import (
	"context"
	"errors"
)

// Step is one tried user count and whether the node held it.
type Step struct {
	Users int          `json:"daily_users"`
	Holds bool         `json:"holds"`
	Run   *MixedReport `json:"run,omitempty"`
}

// Search finds the most daily users a node holds: from start it multiplies
// the count by factor while runs hold (up to limit, 0 meaning none), or
// halves it while they do not, then bisects between the last count that
// held and the first that did not until they are within a twentieth of
// each other or rounds bisections were made. try runs one count. It
// returns every step and the best count that held (0 if none did).
func Search(ctx context.Context, start int, factor float64, limit, rounds int, try func(context.Context, int) (Step, error)) ([]Step, int, error) {
	if start < 1 || factor <= 1 {
		return nil, 0, errors.New("search: want a start of at least 1 and a factor above 1")
	}
	var steps []Step
	run := func(n int) (bool, error) {
		s, err := try(ctx, n)
		if err != nil {
			return false, err
		}
		s.Users = n
		steps = append(steps, s)
		return s.Holds, nil
	}
	lo, hi := 0, 0 // lo held (0: none yet), hi did not (0: none yet)
	ok, err := run(start)
	if err != nil {
		return steps, 0, err
	}
	if ok {
		lo = start
		for hi == 0 {
			next := max(lo+1, int(float64(lo)*factor))
			if limit > 0 && next > limit {
				if lo == limit {
					return steps, lo, nil
				}
				next = limit
			}
			if ok, err = run(next); err != nil {
				return steps, lo, err
			}
			if ok {
				lo = next
			} else {
				hi = next
			}
		}
	} else {
		hi = start
		for lo == 0 && hi > 1 {
			next := max(1, int(float64(hi)/factor))
			if ok, err = run(next); err != nil {
				return steps, 0, err
			}
			if ok {
				lo = next
			} else {
				hi = next
			}
		}
		if lo == 0 {
			return steps, 0, nil
		}
	}
	for r := 0; r < rounds && hi-lo > max(1, lo/20); r++ {
		mid := lo + (hi-lo)/2
		if ok, err = run(mid); err != nil {
			return steps, lo, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return steps, lo, nil
}
