package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	loadgen "github.com/switchboard-chat/switchboard/internal/bench"
)

// parseInts reads a comma-separated list of positive counts.
func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive count", flagName, f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no counts given", flagName)
	}
	return out, nil
}

// workerArgs rebuilds a worker process's command line from the Config of
// one run of a sweep (the sweep's own command line names no scenario).
func workerArgs(c *loadgen.Config, i int) []string {
	a := []string{"bench", c.Scenario, "--target", strings.Join(c.Targets, ","),
		"--conns", strconv.Itoa(c.Conns), "--members", strconv.Itoa(c.Members), "--senders", strconv.Itoa(c.Senders),
		"--rate", strconv.FormatFloat(c.Rate, 'g', -1, 64), "--messages", strconv.Itoa(c.Messages),
		"--duration", c.Duration.String(), "--warmup", c.Warmup.String(), "--size", strconv.Itoa(c.Size),
		"--inflight", strconv.Itoa(c.InFlight), "--dial-concurrency", strconv.Itoa(c.DialConcurrency),
		"--drain", c.Drain.String(), "--ack-timeout", c.AckTimeout.String(),
		"--prefix", c.Prefix, "--worker", strconv.Itoa(i), "--procs", strconv.Itoa(c.Procs)}
	if len(c.SourceAddrs) > 0 {
		var s []string
		for _, ip := range c.SourceAddrs {
			s = append(s, ip.String())
		}
		a = append(a, "--source-addrs", strings.Join(s, ","))
	}
	return a
}

// benchCurve runs a sweep and writes its table (or JSON) and its chart.
func benchCurve(ctx context.Context, kind string, cfg loadgen.Config, sizes, counts string, deliveries int, jsonOut bool, svg string, stdout io.Writer) error {
	var values []int
	var err error
	switch kind {
	case loadgen.CurveFanout:
		values, err = parseInts("--sizes", sizes)
	case loadgen.CurveConns:
		values, err = parseInts("--counts", counts)
	default:
		return fmt.Errorf("bench curve: unknown curve %q (fanout or conns)", kind)
	}
	if err != nil {
		return fmt.Errorf("bench curve: %w", err)
	}
	c, err := loadgen.RunCurve(ctx, kind, values, deliveries, cfg)
	if c != nil && len(c.Points) > 0 {
		var werr error
		if jsonOut {
			werr = json.NewEncoder(stdout).Encode(c)
		} else {
			werr = c.WriteText(stdout)
		}
		if werr == nil && svg != "" {
			werr = writeChart(svg, c.Chart())
		}
		if err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
