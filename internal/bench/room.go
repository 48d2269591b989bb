package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// The room scenario measures what a presence change costs in a large
// watched room: one group of Members members, Watchers of them online and
// watching its room, Churners of them connecting and disconnecting in turn
// (each connect and each disconnect one change) until Changes changes were
// seen by every watcher. The rest of the members stay offline. It reports
// the latency from a churner's dial (or close) to each watcher's room
// frame, the changes per second, and per change the nodes' CPU time and
// frames written, which should grow with the watchers, not the members.

// RoomReport is the room scenario's result.
type RoomReport struct {
	Members  int     `json:"members"`
	Watchers int     `json:"watchers"`
	Churners int     `json:"churners"`
	Changes  int     `json:"changes"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"changes_per_s"`
	// Online is dial to room frame; Offline is close to room frame, which
	// includes the server's presence grace period.
	Online  Latency `json:"online"`
	Offline Latency `json:"offline"`
	Missing int64   `json:"missing"` // room frames a watcher never got
	// Per change, summed over the nodes.
	CPUPerChange    float64 `json:"cpu_ms_per_change"`
	FramesPerChange float64 `json:"frames_per_change"`
	SetupSeconds    float64 `json:"setup_s"`
	Failed          bool    `json:"failed"`
}

// churn is one churner's change in flight: watchers count down.
type churn struct {
	mu      sync.Mutex
	event   string
	start   time.Time
	pending int
	done    chan struct{}
}

// RunRoom runs the room scenario.
func RunRoom(ctx context.Context, cfg Config) (*RoomReport, error) {
	cfg.Scenario = Room
	if err := cfg.Defaults(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	group := cfg.groupName()
	apis := make([]*client.Client, cfg.Members)
	owner := cfg.userName("r", 0)
	var convID string
	// Sign up and log in everyone; the first creates the group, the others
	// join it.
	setup := func(ctx context.Context, i int) error {
		u := cfg.userName("r", i)
		c := client.New(cfg.target(i), client.WithHTTPClient(cfg.HTTPClient))
		if _, err := c.Signup(ctx, u, cfg.password(u), ""); err != nil && client.ErrorCode(err) != "conflict" {
			return fmt.Errorf("signup %s: %w", u, err)
		}
		if _, err := c.Login(ctx, u, cfg.password(u)); err != nil {
			return fmt.Errorf("login %s: %w", u, err)
		}
		apis[i] = c
		if i == 0 {
			return nil
		}
		_, err := c.JoinGroup(ctx, group)
		return err
	}
	if err := setup(ctx, 0); err != nil {
		return nil, err
	}
	g, err := apis[0].CreateGroupWith(ctx, wire.GroupRequest{Name: group, Title: "room bench"})
	if err != nil {
		return nil, fmt.Errorf("create %s as %s: %w", group, owner, err)
	}
	convID = g.ID
	if err := parallelN(ctx, cfg.Members-1, cfg.DialConcurrency, func(ctx context.Context, i int) error { return setup(ctx, i+1) }); err != nil {
		return nil, err
	}

	// Churners are members 1..Churners, watchers the next Watchers.
	churns := make(map[string]*churn, cfg.Churners)
	for k := 1; k <= cfg.Churners; k++ {
		churns[cfg.userName("r", k)] = &churn{}
	}
	online, offline := newHist(), newHist()
	var histMu sync.Mutex
	var frames atomic.Int64
	onFrame := func(_ *client.Conn, f wire.ServerFrame) {
		if f.Type != wire.TypeRoom || f.Conversation != convID {
			return
		}
		frames.Add(1)
		ch := churns[f.UserName]
		if ch == nil {
			return
		}
		ch.mu.Lock()
		defer ch.mu.Unlock()
		if ch.event != f.Event || ch.pending == 0 {
			return
		}
		d := time.Since(ch.start)
		histMu.Lock()
		h := online
		if f.Event == "offline" {
			h = offline
		}
		_ = h.RecordValue(d.Microseconds())
		histMu.Unlock()
		ch.pending--
		if ch.pending == 0 {
			close(ch.done)
		}
	}
	watchers := make([]*client.Conn, cfg.Watchers)
	err = parallelN(ctx, cfg.Watchers, cfg.DialConcurrency, func(ctx context.Context, i int) error {
		idx := 1 + cfg.Churners + i
		conn, err := apis[idx].Dial(ctx, "bench", client.OnEvent(onFrame))
		if err != nil {
			return err
		}
		watchers[i] = conn
		_, err = conn.Watch(ctx, convID)
		return err
	})
	defer func() {
		for _, w := range watchers {
			if w != nil {
				w.Close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	setupDone := time.Now()
	before, err := scrapeAll(ctx, &cfg)
	if err != nil {
		return nil, err
	}

	// Each churner connects and disconnects in turn; a change counts once
	// every watcher saw it (or after a timeout, as missing frames).
	var made atomic.Int64
	var missing atomic.Int64
	change := func(ch *churn, event string, act func() error) error {
		ch.mu.Lock()
		ch.event, ch.start, ch.pending, ch.done = event, time.Now(), cfg.Watchers, make(chan struct{})
		done := ch.done
		ch.mu.Unlock()
		if err := act(); err != nil {
			return err
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			ch.mu.Lock()
			missing.Add(int64(ch.pending))
			ch.pending = 0
			ch.mu.Unlock()
		case <-ctx.Done():
			return ctx.Err()
		}
		made.Add(1)
		return nil
	}
	start := time.Now()
	err = parallelN(ctx, cfg.Churners, cfg.Churners, func(ctx context.Context, k int) error {
		idx := 1 + k
		ch := churns[cfg.userName("r", idx)]
		for made.Load() < int64(cfg.Changes) {
			var conn *client.Conn
			if err := change(ch, "online", func() error {
				var err error
				conn, err = apis[idx].Dial(ctx, "bench")
				return err
			}); err != nil {
				return err
			}
			if err := change(ch, "offline", conn.Close); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	after, err := scrapeAll(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	var cpu, out float64
	for i := range before {
		cpu += after[i][mCPU] - before[i][mCPU]
		out += after[i][mFramesOut] - before[i][mFramesOut]
	}
	n := float64(made.Load())
	rep := &RoomReport{
		Members: cfg.Members, Watchers: cfg.Watchers, Churners: cfg.Churners, Changes: int(made.Load()),
		Seconds: elapsed.Seconds(), PerSec: n / elapsed.Seconds(),
		Online: summarize(online), Offline: summarize(offline), Missing: missing.Load(),
		CPUPerChange: cpu * 1000 / n, FramesPerChange: out / n,
		SetupSeconds: setupDone.Sub(t0).Seconds(),
	}
	rep.Failed = rep.Missing > 0
	return rep, nil
}

// parallelN runs f(0..n-1), at most conc at once, and returns the first error.
func parallelN(ctx context.Context, n, conc int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, max(1, conc))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// WriteText writes the report for people.
func (r *RoomReport) WriteText(w io.Writer) error {
	verdict := "PASSED"
	if r.Failed {
		verdict = fmt.Sprintf("FAILED: %d room frames never arrived", r.Missing)
	}
	lat := func(l Latency) string {
		return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d frames)", l.P50, l.P99, l.Max, l.Count)
	}
	_, err := fmt.Fprintf(w, `room: %d members, %d watching, %d coming and going (setup %.1fs)
changes:   %d in %.2fs = %.1f/s
online:    dial to room frame at every watcher: %s
offline:   close to room frame (includes the presence grace): %s
per change (all nodes): %.3f ms CPU, %.1f frames written
verdict:   %s
`, r.Members, r.Watchers, r.Churners, r.SetupSeconds, r.Changes, r.Seconds, r.PerSec,
		lat(r.Online), lat(r.Offline), r.CPUPerChange, r.FramesPerChange, verdict)
	return err
}
