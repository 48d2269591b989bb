package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/client"
)

// Run coordinates a run: it creates the group if the scenario needs one,
// starts Procs workers, scrapes every target's metrics listener before the load
// and after it, merges the workers' parts and checks delivery.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Scenario == Group {
		if err := createGroup(ctx, &cfg); err != nil {
			return nil, err
		}
	}

	type line struct {
		w   int
		msg workerMsg
		err error
	}
	lines := make(chan line, 64)
	workers := make([]Worker, cfg.Procs)
	for i := range workers {
		wk, err := startWorker(ctx, cfg, i)
		if err != nil {
			for _, w := range workers[:i] {
				w.In.Close()
				_ = w.Wait()
			}
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		workers[i] = wk
		go func() {
			sc := bufio.NewScanner(wk.Out)
			sc.Buffer(make([]byte, 64<<10), 256<<20)
			for sc.Scan() {
				var m workerMsg
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					lines <- line{w: i, err: fmt.Errorf("worker %d: bad line: %w", i, err)}
					return
				}
				lines <- line{w: i, msg: m}
			}
			err := sc.Err()
			if err == nil {
				err = io.EOF
			}
			lines <- line{w: i, err: err}
		}()
	}
	send := func(m coordMsg) {
		b, _ := json.Marshal(m)
		b = append(b, '\n')
		for _, w := range workers {
			_, _ = w.In.Write(b)
		}
	}
	defer func() {
		for _, w := range workers {
			w.In.Close()
		}
		for _, w := range workers {
			_ = w.Wait()
		}
	}()

	rep := &Report{Scenario: cfg.Scenario, Prefix: cfg.Prefix, Targets: cfg.Targets, Procs: cfg.Procs,
		Conns: cfg.Conns, Pairs: cfg.Pairs, Members: cfg.Members, Senders: cfg.Senders, Rate: cfg.Rate,
		Duration: cfg.Duration.String(), Messages: cfg.Messages, Warmup: cfg.Warmup.String(), Size: cfg.Size,
		ChangeEvery: cfg.ChangeEvery}
	progress := make([]Counters, cfg.Procs)
	parts := make([]*Part, cfg.Procs)
	acked, changed := map[string]int64{}, map[string]int64{}
	var before, after []Sample
	var start time.Time
	ready, sent, loaded, got := 0, 0, 0, 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for got < cfg.Procs {
		var l line
		select {
		case l = <-lines:
		case <-tick.C:
			if cfg.Progress != nil && !start.IsZero() {
				printProgress(cfg.Progress, time.Since(start), progress)
			}
			continue
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err != nil {
			if parts[l.w] != nil && errors.Is(l.err, io.EOF) {
				continue
			}
			return nil, fmt.Errorf("worker %d: %w", l.w, l.err)
		}
		m := l.msg
		switch {
		case m.Error != "":
			return nil, fmt.Errorf("worker %d: %s", l.w, m.Error)
		case m.Ready:
			if ready++; ready == cfg.Procs {
				var err error
				if before, err = scrapeAll(ctx, &cfg); err != nil {
					return nil, err
				}
				start = time.Now().Add(100 * time.Millisecond)
				send(coordMsg{Go: start.UnixNano()})
			}
		case m.Progress != nil:
			progress[l.w] = *m.Progress
		case m.Sent:
			for k, v := range m.AckedBy {
				acked[k] += v
			}
			for k, v := range m.ChangedBy {
				changed[k] += v
			}
			if sent++; sent == cfg.Procs {
				send(coordMsg{Expect: acked, ExpectChanges: changed})
			}
		case m.Loaded:
			if loaded++; loaded == cfg.Procs {
				if cfg.Scenario == Connections && cfg.Settle > 0 {
					sleepUntil(time.Now().Add(cfg.Settle), ctx.Done())
				}
				var err error
				if after, err = scrapeAll(ctx, &cfg); err != nil {
					return nil, err
				}
				send(coordMsg{Stop: true})
			}
		case m.Part != nil:
			parts[l.w] = m.Part
			got++
		}
	}
	if cfg.Progress != nil {
		printProgress(cfg.Progress, time.Since(start), progress)
		fmt.Fprintln(cfg.Progress)
	}
	rep.merge(&cfg, start, parts, acked, before, after)
	if cfg.ChangeEvery > 0 {
		rep.Changes = CheckUpdates(changed, rep.receivers)
		for _, p := range parts {
			rep.Changed += sum(p.ChangedBy)
		}
		rep.Verdict.Failures = append(rep.Verdict.Failures, rep.Changes.Failures...)
		rep.Failed = rep.Verdict.Failed()
	}
	if cfg.StartWorker == nil && len(parts) > 0 {
		// Goroutine workers share this process: each measured all of it.
		rep.ClientCPU = parts[0].CPUSeconds
		for _, p := range parts[1:] {
			rep.ClientCPU = max(rep.ClientCPU, p.CPUSeconds)
		}
	}
	rep.clientPer()
	return rep, nil
}

// startWorker starts worker i as a process through cfg.StartWorker, or as
// a goroutine.
func startWorker(ctx context.Context, cfg Config, i int) (Worker, error) {
	if cfg.StartWorker != nil {
		return cfg.StartWorker(&cfg, i)
	}
	cfg.Worker = i
	cfg.Progress = nil
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := RunWorker(ctx, cfg, inR, outW)
		outW.Close()
		inR.Close()
		done <- err
	}()
	return Worker{In: inW, Out: outR, Wait: func() error { return <-done }}, nil
}

// createGroup makes the run's group, owned by a user who stays offline.
func createGroup(ctx context.Context, cfg *Config) error {
	owner := cfg.userName("owner", 0)
	c := client.New(cfg.Targets[0], client.WithHTTPClient(cfg.HTTPClient))
	if _, err := c.Signup(ctx, owner, cfg.password(owner), ""); err != nil && client.ErrorCode(err) != "conflict" {
		return fmt.Errorf("signup %s: %w", owner, err)
	}
	if _, err := c.Login(ctx, owner, cfg.password(owner)); err != nil {
		return fmt.Errorf("login %s: %w", owner, err)
	}
	if _, err := c.CreateGroup(ctx, cfg.groupName(), "bench "+cfg.Prefix); err != nil && client.ErrorCode(err) != "conflict" {
		return fmt.Errorf("create group %s: %w", cfg.groupName(), err)
	}
	return nil
}

func scrapeAll(ctx context.Context, cfg *Config) ([]Sample, error) {
	out := make([]Sample, len(cfg.Targets))
	for i := range out {
		out[i] = Sample{}
	}
	for i, t := range cfg.Metrics {
		s, err := Scrape(ctx, cfg.HTTPClient, t)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func printProgress(w io.Writer, d time.Duration, ps []Counters) {
	var c Counters
	for _, p := range ps {
		c.Conns += p.Conns
		c.Sent += p.Sent
		c.Acked += p.Acked
		c.Errors += p.Errors
		c.Received += p.Received
	}
	fmt.Fprintf(w, "\r%6.1fs  conns %d  sent %d  acked %d  received %d  errors %d   ",
		d.Seconds(), c.Conns, c.Sent, c.Acked, c.Received, c.Errors)
}

// merge fills the report from the parts and the scrapes.
func (r *Report) merge(cfg *Config, start time.Time, parts []*Part, acked map[string]int64, before, after []Sample) {
	ackH, recvH := newHist(), newHist()
	r.Errors = map[string]int64{}
	byTarget := map[string]int{}
	var receivers []ReceiverStat
	var lastAck, lastRecv int64
	for _, p := range parts {
		r.Connections += p.Conns
		r.DialErrors += p.DialErrors
		r.DialSeconds = max(r.DialSeconds, p.DialSecs)
		r.Sent += p.Sent
		r.Acked += p.Acked
		r.Unacked += p.Lost
		for k, v := range p.Errors {
			r.Errors[k] += v
			r.ErrorCount += v
		}
		r.MeasuredAcked += p.MeasuredAcked
		r.MeasuredDelivered += p.MeasuredDelivered
		lastAck = max(lastAck, p.LastAck)
		lastRecv = max(lastRecv, p.LastRecv)
		ackH.Merge(hdrhistogram.Import(p.AckHist))
		recvH.Merge(hdrhistogram.Import(p.RecvHist))
		receivers = append(receivers, p.Receivers...)
		r.ClientCPU += p.CPUSeconds
		for t, n := range p.ByTarget {
			byTarget[t] += n
		}
	}
	if r.DialSeconds > 0 {
		r.ConnectRate = float64(r.Connections) / r.DialSeconds
	}
	warmEnd := start.Add(cfg.Warmup).UnixNano()
	if lastAck > warmEnd {
		r.Window = float64(lastAck-warmEnd) / 1e9
		r.Throughput = float64(r.MeasuredAcked) / r.Window
	}
	if lastRecv > warmEnd {
		r.DeliveryRate = float64(r.MeasuredDelivered) / (float64(lastRecv-warmEnd) / 1e9)
	}
	r.AckLatency = summarize(ackH)
	r.RecvLatency = summarize(recvH)
	r.ackHist, r.recvHist = ackH, recvH
	r.Verdict = Check(acked, receivers)
	r.receivers = receivers
	r.Receivers = len(receivers)
	if r.Unacked > 0 {
		r.Verdict.Failures = append(r.Verdict.Failures, fmt.Sprintf("%d sends never answered", r.Unacked))
	}
	r.Failed = r.Verdict.Failed()
	var total NodeStats
	total.Target = "total"
	for i, t := range cfg.Targets {
		n := nodeStats(t, before[i], after[i], byTarget[t])
		r.Nodes = append(r.Nodes, n)
		total.add(n)
	}
	total.finish()
	if len(cfg.Targets) > 1 {
		r.Nodes = append(r.Nodes, total)
	}
	sort.SliceStable(r.Nodes, func(i, j int) bool {
		return r.Nodes[j].Target == "total" && r.Nodes[i].Target != "total"
	})
}
