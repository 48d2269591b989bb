package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Counters is a worker's live progress.
type Counters struct {
	Conns    int64 `json:"conns"`
	Sent     int64 `json:"sent"`
	Acked    int64 `json:"acked"`
	Errors   int64 `json:"errors"`
	Received int64 `json:"received"`
}

// workerMsg is one line a worker writes.
type workerMsg struct {
	Ready    bool             `json:"ready,omitempty"`
	Progress *Counters        `json:"progress,omitempty"`
	Sent     bool             `json:"sent,omitempty"`     // sending is over
	AckedBy  map[string]int64 `json:"acked_by,omitempty"` // with Sent: acks by sender
	// ChangedBy, with Sent: acked changes (that changed something) by sender
	ChangedBy map[string]int64 `json:"changed_by,omitempty"`
	Loaded    bool             `json:"loaded,omitempty"`
	Part      *Part            `json:"part,omitempty"`
	Error     string           `json:"error,omitempty"`
}

// coordMsg is one line the coordinator writes.
type coordMsg struct {
	Go     int64            `json:"go,omitempty"`     // start at this Unix time in ns
	Expect map[string]int64 `json:"expect,omitempty"` // every worker's acks by sender
	// ExpectChanges is every worker's acked changes by sender.
	ExpectChanges map[string]int64 `json:"expect_changes,omitempty"`
	Stop          bool             `json:"stop,omitempty"`
}

// Part is one worker's result.
type Part struct {
	Conns      int            `json:"conns"`
	ByTarget   map[string]int `json:"by_target"`
	DialSecs   float64        `json:"dial_seconds"` // wall time of the dial phase
	DialErrors int64          `json:"dial_errors"`

	Sent   int64            `json:"sent"`
	Acked  int64            `json:"acked"`
	Errors map[string]int64 `json:"errors"`  // by code
	Lost   int64            `json:"unacked"` // sends still unanswered when the run ended

	MeasuredAcked     int64 `json:"measured_acked"`
	MeasuredDelivered int64 `json:"measured_delivered"`
	LastAck           int64 `json:"last_ack_ns"`
	LastRecv          int64 `json:"last_recv_ns"`

	AckHist  *hdrhistogram.Snapshot `json:"ack_hist"`
	RecvHist *hdrhistogram.Snapshot `json:"recv_hist"`

	AckedBy   map[string]int64 `json:"acked_by"`
	ChangedBy map[string]int64 `json:"changed_by,omitempty"`
	Receivers []ReceiverStat   `json:"receivers"`

	// CPUSeconds is the CPU time the worker's process spent from the
	// start signal to the end of the deliveries (all in-process workers
	// share one process, so the coordinator counts it once then).
	CPUSeconds float64 `json:"cpu_seconds"`
}

// member is one user with one connection.
type member struct {
	idx     int // global index, spreads lock shards
	user    string
	target  string
	api     *client.Client
	conn    *client.Conn
	rcv     *Receiver
	send    bool
	sendK   int    // index among all senders
	to      string // dm: the peer's username; group: "" (uses conv)
	acked   atomic.Int64
	changed atomic.Int64 // acked changes that changed the message
	conv    string
}

// worker runs one share of a run.
type worker struct {
	cfg *Config
	out *json.Encoder
	wmu sync.Mutex

	members []*member
	joins   chan struct{} // joinAtOnce slots

	counters struct{ conns, sent, acked, errors atomic.Int64 }
	received shardedCount // pushed messages, by member
	emu      sync.Mutex
	errs     map[string]int64

	warmEnd  atomic.Int64
	ackHist  *shardedHist // measured acks: latency, count, the last one's time
	recvHist *shardedHist // measured deliveries, likewise
	inflight sync.WaitGroup
	dialSecs float64
	dialErrs atomic.Int64
	cpu      float64 // CPU seconds of the load phase
}

// RunWorker runs worker cfg.Worker of cfg.Procs, reading the coordinator's
// commands from in and writing its messages to out, one JSON object a
// line: ready once its users exist (and, for dm and group, are
// connected); progress each half second; sent with its acks once sending
// is over; loaded once the deliveries it waits for arrived (or
// Config.Drain passed); part, its result, once told to stop.
func RunWorker(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	if err := cfg.Defaults(); err != nil {
		return err
	}
	w := &worker{cfg: &cfg, out: json.NewEncoder(out), errs: map[string]int64{}, joins: make(chan struct{}, joinAtOnce),
		ackHist: newShardedHist(), recvHist: newShardedHist()}
	err := w.run(ctx, bufio.NewScanner(in))
	if err != nil {
		w.emit(workerMsg{Error: err.Error()})
	}
	for _, m := range w.members {
		if m.conn != nil {
			m.conn.Close()
		}
	}
	return err
}

func (w *worker) emit(m workerMsg) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.out.Encode(m)
}

func (w *worker) read(sc *bufio.Scanner) (coordMsg, error) {
	var m coordMsg
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return m, err
		}
		return m, errors.New("coordinator went away")
	}
	return m, json.Unmarshal(sc.Bytes(), &m)
}

func (w *worker) run(ctx context.Context, sc *bufio.Scanner) error {
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	cfg := w.cfg
	if err := w.setup(ctx); err != nil {
		return err
	}
	if cfg.Scenario != Connections {
		if err := w.dialAll(ctx); err != nil {
			return err
		}
	}
	w.emit(workerMsg{Ready: true})
	m, err := w.read(sc)
	if err != nil {
		return err
	}
	start := time.Unix(0, m.Go)
	cpu0 := processCPU()
	w.warmEnd.Store(start.Add(cfg.Warmup).UnixNano())

	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.emit(workerMsg{Progress: w.progress()})
			case <-stopProgress:
				return
			}
		}
	}()
	defer func() { close(stopProgress); pwg.Wait() }()

	sleepUntil(start, ctx.Done())
	if cfg.Scenario == Connections {
		if err := w.dialAll(ctx); err != nil {
			return err
		}
	} else {
		w.sendAll(ctx, start)
	}
	acked, changed := map[string]int64{}, map[string]int64{}
	for _, mb := range w.members {
		if mb.send {
			acked[mb.user] = mb.acked.Load()
			if cfg.ChangeEvery > 0 {
				changed[mb.user] = mb.changed.Load()
			}
		}
	}
	w.emit(workerMsg{Progress: w.progress()})
	w.emit(workerMsg{Sent: true, AckedBy: acked, ChangedBy: changed})
	if m, err = w.read(sc); err != nil {
		return err
	}
	w.drain(ctx, m.Expect, m.ExpectChanges)
	w.cpu = processCPU() - cpu0
	w.emit(workerMsg{Progress: w.progress()})
	w.emit(workerMsg{Loaded: true})
	if _, err = w.read(sc); err != nil {
		return err
	}
	part := w.part(acked)
	part.ChangedBy = changed
	w.emit(workerMsg{Part: part})
	return nil
}

func (w *worker) progress() *Counters {
	return &Counters{Conns: w.counters.conns.Load(), Sent: w.counters.sent.Load(), Acked: w.counters.acked.Load(),
		Errors: w.counters.errors.Load(), Received: w.received.load()}
}

// setup decides this worker's users, then signs them up and logs them in
// (and, for group, joins them to the group before anyone connects, so no
// join is pushed to the others).
func (w *worker) setup(ctx context.Context) error {
	cfg := w.cfg
	switch cfg.Scenario {
	case Connections:
		lo, hi := share(cfg.Conns, cfg.Worker, cfg.Procs)
		for i := lo; i < hi; i++ {
			w.members = append(w.members, &member{idx: i, user: cfg.userName("c", i), target: cfg.target(i)})
		}
	case DM:
		lo, hi := share(cfg.Pairs, cfg.Worker, cfg.Procs)
		for p := lo; p < hi; p++ {
			a, b := cfg.userName("a", p), cfg.userName("b", p)
			w.members = append(w.members,
				&member{idx: 2 * p, user: a, target: cfg.target(2 * p), send: true, sendK: 2 * p, to: b, rcv: NewReceiver(a, []string{b})},
				&member{idx: 2*p + 1, user: b, target: cfg.target(2*p + 1), send: true, sendK: 2*p + 1, to: a, rcv: NewReceiver(b, []string{a})})
		}
	case Group:
		var senders []string
		for k := 0; k < cfg.Senders; k++ {
			senders = append(senders, cfg.userName("m", k))
		}
		lo, hi := share(cfg.Members, cfg.Worker, cfg.Procs)
		for i := lo; i < hi; i++ {
			u := cfg.userName("m", i)
			var expect []string
			for _, s := range senders {
				if s != u {
					expect = append(expect, s)
				}
			}
			w.members = append(w.members, &member{idx: i, user: u, target: cfg.target(i), send: i < cfg.Senders, sendK: i,
				rcv: NewReceiver(u, expect)})
		}
	}
	return w.parallel(ctx, func(ctx context.Context, m *member) error {
		m.api = client.New(m.target, client.WithHTTPClient(cfg.HTTPClient))
		if _, err := m.api.Signup(ctx, m.user, cfg.password(m.user), ""); err != nil && client.ErrorCode(err) != "conflict" {
			return fmt.Errorf("signup %s: %w", m.user, err)
		}
		if _, err := m.api.Login(ctx, m.user, cfg.password(m.user)); err != nil {
			return fmt.Errorf("login %s: %w", m.user, err)
		}
		if cfg.Scenario == Group {
			conv, err := w.join(ctx, m.api, cfg.groupName())
			if err != nil {
				return fmt.Errorf("join %s: %w", cfg.groupName(), err)
			}
			m.conv = conv.ID
		}
		return nil
	})
}

// joinAtOnce is how many joins a worker keeps under way. The server
// handles a group's joins one after another, each reading the member list
// (finding 7), so more at once only queue there, until those queued past
// its --write-timeout are cut off.
const joinAtOnce = 8

// join joins the group, joinAtOnce at a time per worker, retrying a join
// whose answer was lost on the way (joining is idempotent: a member who
// joins again gets the conversation).
func (w *worker) join(ctx context.Context, api *client.Client, group string) (wire.Conversation, error) {
	select {
	case w.joins <- struct{}{}:
	case <-ctx.Done():
		return wire.Conversation{}, ctx.Err()
	}
	defer func() { <-w.joins }()
	var err error
	for try := 0; try < 3; try++ {
		var conv wire.Conversation
		if conv, err = api.JoinGroup(ctx, group); err == nil || client.ErrorCode(err) != "" || ctx.Err() != nil {
			return conv, err
		}
	}
	return wire.Conversation{}, err
}

// parallel runs f for each member, DialConcurrency at a time, and returns
// the first error.
func (w *worker) parallel(ctx context.Context, f func(context.Context, *member) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, w.cfg.DialConcurrency)
	for _, m := range w.members {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, ccancel := context.WithTimeout(ctx, time.Minute)
			defer ccancel()
			if err := f(cctx, m); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// dialAll opens every member's connection.
func (w *worker) dialAll(ctx context.Context) error {
	t0 := time.Now()
	var next atomic.Uint64
	err := w.parallel(ctx, func(ctx context.Context, m *member) error {
		opts := []client.DialOption{client.OnEvent(w.handler(m))}
		if src := w.cfg.SourceAddrs; len(src) > 0 {
			ip := src[next.Add(1)%uint64(len(src))]
			opts = append(opts, client.WithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}))
		}
		conn, err := m.api.Dial(ctx, "bench", opts...)
		if err != nil {
			w.dialErrs.Add(1)
			return fmt.Errorf("dial %s as %s: %w", m.target, m.user, err)
		}
		m.conn = conn
		w.counters.conns.Add(1)
		return nil
	})
	w.dialSecs = time.Since(t0).Seconds()
	return err
}

// handler returns m's OnEvent handler: it checks and times pushed messages.
func (w *worker) handler(m *member) func(*client.Conn, wire.ServerFrame) {
	if m.rcv == nil {
		return func(*client.Conn, wire.ServerFrame) {}
	}
	return func(_ *client.Conn, f wire.ServerFrame) {
		if f.Type == wire.TypeUpdate && f.Msg != nil {
			m.rcv.Updated(f)
			return
		}
		if f.Type != wire.TypeMessage || f.Msg == nil {
			return
		}
		now := time.Now()
		m.rcv.Pushed(*f.Msg)
		w.received.add(m.idx)
		sent, ok := sendTime(f.Msg.Text)
		if ok && sent >= w.warmEnd.Load() {
			w.recvHist.record(m.idx, now.Sub(time.Unix(0, sent)), now.UnixNano())
		}
	}
}

// text builds a message carrying its intended send time.
func text(sent time.Time, size int) string {
	s := strconv.FormatInt(sent.UnixNano(), 10) + "|"
	if len(s) < size {
		s += strings.Repeat("x", size-len(s))
	}
	return s
}

// sendTime reads the send time back from a message text.
func sendTime(s string) (int64, bool) {
	i := strings.IndexByte(s, '|')
	if i <= 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(s[:i], 10, 64)
	return v, err == nil
}

// sendAll runs every sender until its budget or the duration is spent,
// then waits for the outstanding acks.
func (w *worker) sendAll(ctx context.Context, start time.Time) {
	cfg := w.cfg
	var end time.Time
	if cfg.Messages <= 0 {
		end = start.Add(cfg.Warmup + cfg.Duration)
	}
	var perRate float64
	if cfg.Rate > 0 {
		perRate = cfg.Rate / float64(cfg.senders())
	}
	var wg sync.WaitGroup
	for _, m := range w.members {
		if !m.send {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sender(ctx, m, start, end, perRate, cfg.perSender(m.sendK))
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	// Acks may lag far behind a saturated server; the acked counts are only
	// final once every send is answered (or AckTimeout gives up on them).
	select {
	case <-done:
	case <-time.After(cfg.AckTimeout):
	case <-ctx.Done():
	}
}

// sender sends m's messages: open loop at rate (each message's latency
// counts from when it was due, so a stalled server cannot hide queueing),
// or as fast as the in-flight window allows when rate is 0.
func (w *worker) sender(ctx context.Context, m *member, start, end time.Time, rate float64, budget int) {
	cfg := w.cfg
	slots := make(chan struct{}, cfg.InFlight)
	// Spread the senders' first sends over one interval.
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	offset := time.Duration(0)
	if n := cfg.senders(); n > 0 && interval > 0 {
		offset = interval * time.Duration(m.sendK) / time.Duration(n)
	}
	for i := 0; budget == 0 || i < budget; i++ {
		due := time.Now()
		if rate > 0 {
			due = start.Add(offset + time.Duration(float64(i)*float64(time.Second)/rate))
			if !end.IsZero() && !due.Before(end) {
				return
			}
			if !sleepUntil(due, ctx.Done()) {
				return
			}
		} else if !end.IsZero() && !due.Before(end) {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if rate == 0 {
			due = time.Now()
		}
		req := client.SendRequest{ClientMsgID: fmt.Sprintf("%s.%d.%d", cfg.Prefix, m.sendK, i), Text: text(due, cfg.Size)}
		if m.to != "" {
			req.ToUser = m.to
		} else {
			req.Conversation = m.conv
		}
		measured := due.UnixNano() >= w.warmEnd.Load()
		w.inflight.Add(1)
		w.counters.sent.Add(1)
		err := m.conn.SendAsync(req, func(msg wire.Message, err error) {
			defer w.inflight.Done()
			defer func() { <-slots }()
			if err != nil {
				w.fail(err)
				return
			}
			now := time.Now()
			m.acked.Add(1)
			w.counters.acked.Add(1)
			m.rcv.Own(msg)
			if cfg.ChangeEvery > 0 && i%cfg.ChangeEvery == 0 {
				w.change(m, msg, i/cfg.ChangeEvery)
			}
			if measured {
				w.ackHist.record(m.idx, now.Sub(due), now.UnixNano())
			}
		})
		if err != nil {
			w.inflight.Done()
			<-slots
			w.fail(err)
			if m.conn.Err() != nil {
				return
			}
		}
	}
}

// fail counts an error by its code.
func (w *worker) fail(err error) {
	code := client.ErrorCode(err)
	if code == "" {
		var ce *client.CloseError
		switch {
		case errors.As(err, &ce):
			code = "closed_" + strconv.Itoa(ce.Code)
		case errors.Is(err, client.ErrClosed):
			code = "closed"
		default:
			code = "network"
		}
	}
	w.counters.errors.Add(1)
	w.emu.Lock()
	w.errs[code]++
	w.emu.Unlock()
}

// drain waits until every local receiver has every acked message (and
// change) of the senders it expects, or Drain passes.
func (w *worker) drain(ctx context.Context, acked, changed map[string]int64) {
	deadline := time.Now().Add(w.cfg.Drain)
	for {
		done := true
	check:
		for _, m := range w.members {
			if m.rcv == nil || m.conn == nil || m.conn.Err() != nil {
				continue
			}
			for _, s := range m.rcv.expect {
				if m.rcv.Received(s) < acked[s] || m.rcv.Updates(s) < changed[s] {
					done = false
					break check
				}
			}
		}
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// part gathers the worker's result; connections that ended on their own
// count as dropped.
func (w *worker) part(acked map[string]int64) *Part {
	mAcked, lastAck := w.ackHist.totals()
	mDeliv, lastRecv := w.recvHist.totals()
	p := &Part{Conns: int(w.counters.conns.Load()), ByTarget: map[string]int{}, DialSecs: w.dialSecs,
		DialErrors: w.dialErrs.Load(), Sent: w.counters.sent.Load(), Acked: w.counters.acked.Load(),
		MeasuredAcked: mAcked, MeasuredDelivered: mDeliv,
		LastAck: lastAck, LastRecv: lastRecv, AckedBy: acked,
		AckHist: w.ackHist.merged().Export(), RecvHist: w.recvHist.merged().Export(), CPUSeconds: w.cpu}
	p.Lost = p.Sent - p.Acked - w.counters.errors.Load()
	w.emu.Lock()
	p.Errors = w.errs
	w.emu.Unlock()
	for _, m := range w.members {
		if m.conn == nil {
			continue
		}
		p.ByTarget[m.target]++
		if err := m.conn.Err(); err != nil && m.rcv != nil {
			m.rcv.Dropped(err.Error())
		} else if err != nil {
			p.Receivers = append(p.Receivers, ReceiverStat{User: m.user, Dropped: err.Error()})
		}
		if m.rcv != nil {
			p.Receivers = append(p.Receivers, m.rcv.Stat())
		}
	}
	return p
}
