package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	loadgen "github.com/switchboard-chat/switchboard/internal/bench"
)

// mixedOpts are the mixed scenario's flags beyond the Config's.
type mixedOpts struct {
	findMax    bool
	factor     float64
	maxUsers   int
	bisect     int
	groupSizes string
}

// addMixedFlags registers the mixed scenario's flags, binding the
// workload's fields in cfg (which starts from the default workload).
func addMixedFlags(fs *flag.FlagSet, cfg *loadgen.Config) *mixedOpts {
	o := &mixedOpts{}
	cfg.Workload = loadgen.DefaultWorkload()
	w := &cfg.Workload
	fs.IntVar(&cfg.Users, "users", 1000, "mixed: daily users to simulate (with --find-max, the first count tried)")
	fs.Float64Var(&cfg.Compress, "compress", 5, "mixed: how many times faster than real time the day runs (5: the design's peak of 5x the daily average)")
	fs.DurationVar(&cfg.Goal, "goal", 0, "mixed: the p99 send->receive a run must stay under to hold (default 100ms)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "mixed: seed of the random plan and picks")
	fs.Float64Var(&w.Online, "online", w.Online, "mixed: share of the daily users online at a time")
	fs.Float64Var(&w.MsgsPerDay, "msgs-per-day", w.MsgsPerDay, "mixed: messages per daily user per day")
	fs.Float64Var(&w.MediaPerDay, "media-per-day", w.MediaPerDay, "mixed: media uploads (each sent in a message) per daily user per day")
	fs.IntVar(&w.MediaSize, "media-size", w.MediaSize, "mixed: bytes per media file (a PNG)")
	fs.Float64Var(&w.GroupShare, "group-share", w.GroupShare, "mixed: share of messages sent to groups (the rest 1:1)")
	fs.Float64Var(&w.GroupsPer, "groups-per-user", w.GroupsPer, "mixed: group memberships per online user")
	fs.StringVar(&o.groupSizes, "group-sizes", "", `mixed: group sizes in daily members by share of groups, e.g. "3-10:0.6,11-50:0.25,51-200:0.1,201-500:0.05" (the default)`)
	fs.Float64Var(&w.Sessions, "sessions", w.Sessions, "mixed: connects (each followed by a disconnect) per daily user per day")
	fs.Float64Var(&w.ReceiptShare, "receipt-share", w.ReceiptShare, "mixed: share of deliveries answered with a receipt (1: all; lower only to measure their cost)")
	fs.Float64Var(&w.ReadShare, "read-share", w.ReadShare, "mixed: share of receipts that say read")
	fs.Float64Var(&w.TypingShare, "typing-share", w.TypingShare, "mixed: share of messages preceded by typing")
	fs.BoolVar(&o.findMax, "find-max", false, "mixed: search for the most daily users that hold (p99 under --goal, nothing lost)")
	fs.Float64Var(&o.factor, "step", 2, "mixed --find-max: multiply (or divide) the user count by this until the outcome changes, then bisect")
	fs.IntVar(&o.maxUsers, "max-users", 0, "mixed --find-max: never try more daily users than this (0: no limit)")
	fs.IntVar(&o.bisect, "bisect", 4, "mixed --find-max: bisection rounds after the steps")
	return o
}

// parseGroupSizes reads "MIN-MAX:SHARE,...".
func parseGroupSizes(s string) ([]loadgen.SizeBin, error) {
	var bins []loadgen.SizeBin
	for _, part := range strings.Split(s, ",") {
		rng, share, ok := strings.Cut(strings.TrimSpace(part), ":")
		lo, hi, ok2 := strings.Cut(rng, "-")
		if !ok || !ok2 {
			return nil, fmt.Errorf("--group-sizes: %q is not MIN-MAX:SHARE", part)
		}
		var b loadgen.SizeBin
		var err1, err2, err3 error
		b.Min, err1 = strconv.Atoi(lo)
		b.Max, err2 = strconv.Atoi(hi)
		b.Share, err3 = strconv.ParseFloat(share, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("--group-sizes: %q is not MIN-MAX:SHARE", part)
		}
		bins = append(bins, b)
	}
	return bins, nil
}

// benchMixed runs the mixed scenario once, or searches with --find-max.
func benchMixed(ctx context.Context, cfg loadgen.Config, o *mixedOpts, jsonOut bool, svg string, stdout, stderr io.Writer) error {
	if o.groupSizes != "" {
		bins, err := parseGroupSizes(o.groupSizes)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.Workload.GroupSizes = bins
	}
	if !o.findMax {
		rep, err := loadgen.RunMixed(ctx, cfg)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := writeReport(stdout, jsonOut, rep); err != nil {
			return err
		}
		if rep.Failed {
			return fmt.Errorf("bench: run FAILED: %s", strings.Join(rep.Verdict.Failures, "; "))
		}
		return nil
	}
	try := func(ctx context.Context, n int) (loadgen.Step, error) {
		c := cfg
		c.Users = n
		c.Prefix = ""
		rep, err := loadgen.RunMixed(ctx, c)
		if err != nil {
			return loadgen.Step{}, err
		}
		if !jsonOut {
			fmt.Fprintf(stdout, "--- %d daily users\n", n)
			if err := rep.WriteText(stdout); err != nil {
				return loadgen.Step{}, err
			}
		}
		return loadgen.Step{Holds: rep.Holds, Run: rep}, nil
	}
	steps, best, err := loadgen.Search(ctx, cfg.Users, o.factor, o.maxUsers, o.bisect, try)
	if svg != "" && len(steps) > 0 {
		if werr := writeChart(svg, searchChart(steps, cfg)); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if jsonOut {
		return json.NewEncoder(stdout).Encode(struct {
			Best  int            `json:"most_daily_users"`
			Steps []loadgen.Step `json:"steps"`
		}{best, steps})
	}
	fmt.Fprintf(stdout, "=== most daily users held (p99 send->receive under the goal, nothing lost, x%g in time): %d\n", cfg.Compress, best)
	return nil
}

// searchChart draws p99 send->receive against the daily users tried.
func searchChart(steps []loadgen.Step, cfg loadgen.Config) *loadgen.Chart {
	var held, not loadgen.Series
	held.Name, not.Name = "held", "did not hold"
	for _, s := range steps {
		p := loadgen.Point{X: float64(s.Users), Y: s.Run.RecvLatency.P99, Label: fmt.Sprintf("%.0f ms", s.Run.RecvLatency.P99)}
		if s.Holds {
			held.Points = append(held.Points, p)
		} else {
			not.Points = append(not.Points, p)
		}
	}
	sortPoints(held.Points)
	sortPoints(not.Points)
	ch := &loadgen.Chart{LogX: true, Title: fmt.Sprintf("switchboard bench mixed --find-max (x%g in time)", cfg.Compress),
		XLabel: "daily users (log)", YLabel: "p99 send->receive (ms)"}
	if len(steps) > 0 {
		goal := steps[0].Run.Goal
		ch.Marks = []loadgen.Mark{{Y: goal, Label: fmt.Sprintf("goal %.0f ms", goal)}}
	}
	for _, s := range []loadgen.Series{held, not} {
		if len(s.Points) > 0 {
			ch.Series = append(ch.Series, s)
		}
	}
	return ch
}

func sortPoints(p []loadgen.Point) {
	slices.SortFunc(p, func(a, b loadgen.Point) int { return cmp.Compare(a.X, b.X) })
}

// writeChart writes ch to the file path.
func writeChart(path string, ch *loadgen.Chart) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	if err := ch.WriteSVG(f); err != nil {
		f.Close()
		return fmt.Errorf("svg: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	return nil
}
