package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"

	loadgen "github.com/switchboard-chat/switchboard/internal/bench"
)

// targetList is a repeatable --target flag.
type targetList []string

func (t *targetList) String() string { return strings.Join(*t, ",") }

func (t *targetList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*t = append(*t, s)
		}
	}
	return nil
}

const benchUsage = `Usage: switchboard bench SCENARIO --target URL [--target URL ...] [flags]
       switchboard bench curve fanout|conns --target URL --metrics URL [flags]

Scenarios:
  connections   --conns N authenticated idle connections; connect rate and
                server memory per connection
  dm            --pairs P pairs of users messaging each other at --rate
  group         one group of --members M online members, --senders K of
                them sending at --rate; deliveries/s
  room          one group of --members M (most offline), --watchers W of
                them watching its room, --churners C connecting and
                disconnecting until --changes N presence changes were seen;
                latency to the watchers and CPU and frames per change
  mixed         a day of --users daily users compressed --compress times in
                time, shaped like the design documents (20 messages and 5
                media per user a day, 1:1 and groups of sizes from a
                distribution, receipts for every delivery, typing, presence
                churn); with --find-max, the most daily users one node holds
                with p99 send->receive under --goal and nothing lost

Curves (each point its own run; --svg FILE draws them):
  curve fanout  --sizes 10,100,1000,10000: group scenario per size; server
                CPU per delivery
  curve conns   --counts 1000,10000,19000: connections scenario per count;
                server memory per connection

The run FAILS (exit status 1) if any acknowledged message is not received
by an online recipient, or arrives twice or out of order; with
--change-every, likewise for the updates of acknowledged edits and reactions
(out of order meaning out of rev order).

Flags:
`

// bench runs the load generator; see benchUsage.
// benchWorkerGCPercent is the GC target of a bench worker when GOGC is
// not set.
const benchWorkerGCPercent = 400

func bench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_ = getenv
	var (
		cfg      loadgen.Config
		targets  targetList
		metrics  targetList
		jsonOut  bool
		plot     string
		progress bool
		worker   int
		sources  string
		svg      string
		sizes    string
		counts   string
		deliv    int
		curve    string
	)
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&targets, "target", "node base URL, e.g. http://127.0.0.1:8080 (repeat or comma-separate for several nodes)")
	fs.Var(&metrics, "metrics", "a target's metrics listener (serve --metrics-addr), e.g. http://127.0.0.1:9090; one per --target, in the same order, for the per-node figures")
	fs.IntVar(&cfg.Conns, "conns", 1000, "connections: how many idle connections")
	fs.IntVar(&cfg.Pairs, "pairs", 10, "dm: pairs of users")
	fs.IntVar(&cfg.Members, "members", 100, "group: online members")
	fs.IntVar(&cfg.Senders, "senders", 1, "group: members that send")
	fs.IntVar(&cfg.Watchers, "watchers", 10, "room: online members watching the room")
	fs.IntVar(&cfg.Churners, "churners", 10, "room: members coming and going")
	fs.IntVar(&cfg.Changes, "changes", 200, "room: presence changes to make")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "messages per second over all senders; 0 sends as fast as --inflight allows")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to send after the warmup (default 10s unless --messages)")
	fs.IntVar(&cfg.Messages, "messages", 0, "total messages to send, warmup included, instead of --duration")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "time at the start whose messages are checked but not counted")
	fs.IntVar(&cfg.Size, "size", 64, "message text size in bytes")
	fs.IntVar(&cfg.ChangeEvery, "change-every", 0, "dm, group: after every Nth acked message its sender edits it or reacts to it (by turns); members check each update arrives once, in rev order")
	fs.StringVar(&cfg.Prefix, "prefix", "", "user and group name prefix (default random), so runs never collide")
	fs.IntVar(&cfg.Procs, "procs", 1, "worker processes; each holds a share of the connections")
	fs.IntVar(&cfg.InFlight, "inflight", 1000, "unacknowledged sends allowed per sending connection")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 64, "signups, logins and dials at once, per process")
	fs.DurationVar(&cfg.Drain, "drain", 0, "after the last ack, how long to wait for deliveries (default 10s)")
	fs.DurationVar(&cfg.AckTimeout, "ack-timeout", 0, "after the last send, how long to wait for acks (default 1m)")
	fs.DurationVar(&cfg.Settle, "settle", 0, "connections: wait this long before measuring memory")
	fs.BoolVar(&jsonOut, "json", false, "write the report as JSON")
	fs.StringVar(&plot, "plot", "", "write a latency plot to this SVG file")
	fs.BoolVar(&progress, "progress", false, "show a live progress line on stderr even when it is not a terminal")
	fs.StringVar(&sources, "source-addrs", "", "comma-separated local addresses (127.0.0.x) to spread connections over")
	fs.StringVar(&svg, "svg", "", "curve, mixed --find-max: write the sweep's chart to this SVG file")
	fs.StringVar(&sizes, "sizes", "10,100,1000,10000", "curve fanout: group sizes")
	fs.StringVar(&counts, "counts", "1000,10000,19000", "curve conns: connection counts")
	fs.IntVar(&deliv, "deliveries", 200000, "curve fanout: deliveries per point (messages = deliveries / (size-1), 20 to 20,000)")
	mixed := addMixedFlags(fs, &cfg)
	fs.IntVar(&worker, "worker", -1, "internal: run as worker N of --procs, speaking JSON lines on stdin/stdout")
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil
		}
		fs.Usage()
		return errors.New("bench: no scenario given")
	}
	cfg.Scenario = args[0]
	flagArgs := args[1:]
	if cfg.Scenario == "curve" {
		if len(flagArgs) == 0 || strings.HasPrefix(flagArgs[0], "-") {
			return errors.New("bench curve: name a curve: fanout or conns")
		}
		curve, flagArgs = flagArgs[0], flagArgs[1:]
	}
	if err := fs.Parse(flagArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	for _, a := range strings.Split(sources, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		ip := net.ParseIP(a)
		if ip == nil {
			return fmt.Errorf("bench: --source-addrs: %q is not an IP address", a)
		}
		cfg.SourceAddrs = append(cfg.SourceAddrs, ip)
	}
	cfg.Targets = targets
	cfg.Metrics = metrics

	if worker >= 0 {
		cfg.Worker = worker
		if getenv("GOGC") == "" {
			// A load generator spends memory to save CPU: its heap is
			// small and most of what it allocates is a decoded frame that
			// dies at once, so collecting 4x less often is cheap headroom
			// for the server it shares the machine with.
			debug.SetGCPercent(benchWorkerGCPercent)
		}
		return loadgen.RunWorker(ctx, cfg, os.Stdin, stdout)
	}
	if progress || isTerminal(stderr) {
		cfg.Progress = stderr
	}
	if cfg.Procs > 1 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find own binary for --procs: %w", err)
		}
		cfg.StartWorker = func(c *loadgen.Config, i int) (loadgen.Worker, error) {
			wargs := append([]string{"bench"}, args...)
			wargs = append(wargs, "--prefix", c.Prefix, "--worker", strconv.Itoa(i), "--procs", strconv.Itoa(c.Procs))
			if curve != "" {
				wargs = workerArgs(c, i)
			}
			cmd := exec.CommandContext(ctx, exe, wargs...)
			cmd.Stderr = stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				return loadgen.Worker{}, err
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				return loadgen.Worker{}, err
			}
			if err := cmd.Start(); err != nil {
				return loadgen.Worker{}, err
			}
			return loadgen.Worker{In: in, Out: out, Wait: cmd.Wait}, nil
		}
	}
	switch cfg.Scenario {
	case "curve":
		return benchCurve(ctx, curve, cfg, sizes, counts, deliv, jsonOut, svg, stdout)
	case loadgen.Mixed:
		return benchMixed(ctx, cfg, mixed, jsonOut, svg, stdout, stderr)
	}
	if cfg.Scenario == loadgen.Room {
		rep, err := loadgen.RunRoom(ctx, cfg)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := writeReport(stdout, jsonOut, rep); err != nil {
			return err
		}
		if rep.Failed {
			return fmt.Errorf("bench: run FAILED: %d room frames never arrived", rep.Missing)
		}
		return nil
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if plot != "" {
		f, err := os.Create(plot)
		if err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
		if err := rep.WriteSVG(f); err != nil {
			f.Close()
			return fmt.Errorf("bench: plot: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
	}
	if rep.Failed {
		return fmt.Errorf("bench: run FAILED: %s", strings.Join(rep.Verdict.Failures, "; "))
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeReport writes a scenario's report as JSON or as text.
func writeReport(w io.Writer, jsonOut bool, rep interface{ WriteText(io.Writer) error }) error {
	if jsonOut {
		return json.NewEncoder(w).Encode(rep)
	}
	return rep.WriteText(w)
}
