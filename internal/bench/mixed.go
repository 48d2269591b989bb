package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// The mixed scenario plays a day of Config.Users daily users, compressed
// Config.Compress-fold in time, for Config.Duration: the Workload's online
// share holds one connection each for the whole run and talks in 1:1
// pairs and in groups; a pool of churners connects and disconnects (each a
// presence change the steady users watch); senders type before some
// messages and upload a media file for some; every recipient answers each
// delivery with a receipt (coalesced per conversation while one is in
// flight, as a client would). Each delivery is checked for loss,
// duplicates and order per (recipient, conversation), and timed from when
// the message was due (open loop). The run holds if nothing failed and the
// p99 send->receive is under Config.Goal.

// mixedUser is one steady online user.
type mixedUser struct {
	idx  int
	name string
	api  *client.Client
	conn *client.Conn
	peer int
	pair int
	// rcv checks each conversation: "d" the 1:1 with peer, "gK" group K;
	// convKey maps group conversation ids to keys (anything else is the
	// 1:1). Both are written before the user dials and only read after.
	rcv     map[string]*Receiver
	convKey map[string]string

	mu       sync.Mutex
	receipts map[string]*receiptState
	// upload makes a user's uploads one at a time, as one device sends
	// them (the server lets a user decode one image at a time).
	upload sync.Mutex
}

// receiptState coalesces one conversation's receipts: while one is
// unanswered, later deliveries only raise pending.
type receiptState struct {
	busy    bool
	pending int64
}

// churner is one user of the churn pool.
type churner struct {
	name   string
	api    *client.Client
	online atomic.Bool
}

// mixedRun is one mixed run's state.
type mixedRun struct {
	cfg   *Config
	plan  *Plan
	users []*mixedUser
	churn []*churner
	convs []string       // group conversation ids
	dms   []atomic.Value // per pair: the 1:1 conversation id, once known
	png   []byte         // the media file

	amu   sync.Mutex
	acked map[string]int64 // "key/sender" -> acks

	emu  sync.Mutex
	errs map[string]int64

	warmEnd                                 int64
	ackHist, recvHist, uploadHist           *shardedHist
	sent, ackedN, delivered                 atomic.Int64
	uploads, typingSent, receiptsSent       atomic.Int64
	receiptFrames, typingFrames, presFrames atomic.Int64
	connects, disconnects, churnSkipped     atomic.Int64
	stray                                   atomic.Int64
	inflight                                sync.WaitGroup
	receiptsOut                             atomic.Int64
}

// RunMixed runs the mixed scenario once at cfg.Users daily users.
func RunMixed(ctx context.Context, cfg Config) (*MixedReport, error) {
	cfg.Scenario = Mixed
	if err := cfg.Defaults(); err != nil {
		return nil, err
	}
	plan, err := cfg.Workload.NewPlan(cfg.Users, cfg.Compress, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r := &mixedRun{cfg: &cfg, plan: plan, acked: map[string]int64{}, errs: map[string]int64{},
		ackHist: newShardedHist(), recvHist: newShardedHist(), uploadHist: newShardedHist(),
		dms: make([]atomic.Value, plan.Online/2)}
	if cfg.Workload.MediaPerDay > 0 && cfg.Workload.MediaSize > 0 {
		if r.png, err = noisePNG(cfg.Workload.MediaSize); err != nil {
			return nil, err
		}
	}
	defer r.close()
	t0 := time.Now()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	rep := &MixedReport{SetupSeconds: time.Since(t0).Seconds()}
	before, err := scrapeAll(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now().Add(100 * time.Millisecond)
	end := start.Add(cfg.Warmup + cfg.Duration)
	r.warmEnd = start.Add(cfg.Warmup).UnixNano()
	cpu0 := processCPU()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.churnLoop(ctx, start, end) }()
	go func() { defer wg.Done(); r.sendLoop(ctx, start, end) }()
	wg.Wait()
	r.drain(ctx)
	clientCPU := processCPU() - cpu0
	after, err := scrapeAll(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	r.report(rep, start, before, after)
	rep.ClientCPU = clientCPU
	return rep, nil
}

// close ends every connection the run opened.
func (r *mixedRun) close() {
	for _, u := range r.users {
		if u.conn != nil {
			u.conn.Close()
		}
	}
}

// setup signs up and logs in every user, creates and fills the groups
// (before anyone connects, so no member event is pushed), then dials the
// steady users, each watching its peer's and its contacts' presence.
func (r *mixedRun) setup(ctx context.Context) error {
	cfg, p := r.cfg, r.plan
	r.users = make([]*mixedUser, p.Online)
	for i := range r.users {
		r.users[i] = &mixedUser{idx: i, name: cfg.userName("u", i), peer: i ^ 1, pair: i / 2,
			rcv: map[string]*Receiver{}, convKey: map[string]string{}, receipts: map[string]*receiptState{}}
	}
	r.churn = make([]*churner, p.Churners)
	for i := range r.churn {
		r.churn[i] = &churner{name: cfg.userName("z", i)}
	}
	login := func(ctx context.Context, i int, user string) (*client.Client, error) {
		c := client.New(cfg.target(i), client.WithHTTPClient(cfg.HTTPClient))
		if _, err := c.Signup(ctx, user, cfg.password(user), ""); err != nil && client.ErrorCode(err) != "conflict" {
			return nil, fmt.Errorf("signup %s: %w", user, err)
		}
		if _, err := c.Login(ctx, user, cfg.password(user)); err != nil {
			return nil, fmt.Errorf("login %s: %w", user, err)
		}
		return c, nil
	}
	err := parallelN(ctx, p.Online+p.Churners, cfg.DialConcurrency, func(ctx context.Context, i int) error {
		var err error
		if i < p.Online {
			r.users[i].api, err = login(ctx, i, r.users[i].name)
		} else {
			k := i - p.Online
			r.churn[k].api, err = login(ctx, i, r.churn[k].name)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := r.setupGroups(ctx); err != nil {
		return err
	}
	for _, u := range r.users {
		u.rcv["d"] = NewReceiver(u.name, []string{r.users[u.peer].name})
	}
	for k, g := range p.Groups {
		key := "g" + strconv.Itoa(k)
		for _, i := range g {
			var expect []string
			for _, j := range g {
				if j != i {
					expect = append(expect, r.users[j].name)
				}
			}
			r.users[i].rcv[key] = NewReceiver(r.users[i].name, expect)
			r.users[i].convKey[r.convs[k]] = key
		}
	}
	return parallelN(ctx, p.Online, cfg.DialConcurrency, func(ctx context.Context, i int) error {
		u := r.users[i]
		conn, err := u.api.Dial(ctx, "bench", client.OnEvent(r.handler(u)))
		if err != nil {
			return fmt.Errorf("dial %s: %w", u.name, err)
		}
		u.conn = conn
		watch := []string{r.users[u.peer].name}
		for _, c := range p.Contacts[i] {
			watch = append(watch, r.churn[c].name)
		}
		if _, err := conn.PresenceSubscribe(ctx, watch); err != nil {
			return fmt.Errorf("presence_subscribe as %s: %w", u.name, err)
		}
		return nil
	})
}

// setupGroups creates every group (its first member owns it), then joins
// the other members, all through the API, DialConcurrency calls at once.
func (r *mixedRun) setupGroups(ctx context.Context) error {
	cfg, p := r.cfg, r.plan
	r.convs = make([]string, len(p.Groups))
	err := parallelN(ctx, len(p.Groups), cfg.DialConcurrency, func(ctx context.Context, k int) error {
		name := cfg.Prefix + "-g" + strconv.Itoa(k)
		g, err := r.users[p.Groups[k][0]].api.CreateGroupWith(ctx, wire.GroupRequest{Name: name, Title: "mixed bench"})
		if err != nil {
			return fmt.Errorf("create group %s: %w", name, err)
		}
		r.convs[k] = g.ID
		return nil
	})
	if err != nil {
		return err
	}
	type join struct{ k, i int }
	var joins []join
	for k, g := range p.Groups {
		for _, i := range g[1:] {
			joins = append(joins, join{k, i})
		}
	}
	return parallelN(ctx, len(joins), cfg.DialConcurrency, func(ctx context.Context, n int) error {
		j := joins[n]
		name := cfg.Prefix + "-g" + strconv.Itoa(j.k)
		if _, err := r.users[j.i].api.JoinGroup(ctx, name); err != nil {
			return fmt.Errorf("join %s as %s: %w", name, r.users[j.i].name, err)
		}
		return nil
	})
}

// handler checks and times u's pushed messages, answers each with a
// receipt, and counts the other frames the workload causes.
func (r *mixedRun) handler(u *mixedUser) func(*client.Conn, wire.ServerFrame) {
	return func(_ *client.Conn, f wire.ServerFrame) {
		switch f.Type {
		case wire.TypeMessage:
			if f.Msg == nil {
				return
			}
			now := time.Now()
			key, ok := u.convKey[f.Msg.Conversation]
			if !ok {
				key = "d"
				r.dms[u.pair].CompareAndSwap(nil, f.Msg.Conversation)
			}
			u.rcv[key].Pushed(*f.Msg)
			r.delivered.Add(1)
			if sent, ok := sendTime(f.Msg.Text); ok && sent >= r.warmEnd {
				r.recvHist.record(u.idx, now.Sub(time.Unix(0, sent)), now.UnixNano())
			}
			if share := r.cfg.Workload.ReceiptShare; share >= 1 || rand.Float64() < share {
				r.receipt(u, f.Msg.Conversation, f.Msg.Seq)
			}
		case wire.TypeReceiptEv:
			r.receiptFrames.Add(1)
		case wire.TypeTypingEv:
			r.typingFrames.Add(1)
		case wire.TypePresence:
			r.presFrames.Add(1)
		}
	}
}

// receipt answers a delivery, or leaves it to the receipt in flight.
func (r *mixedRun) receipt(u *mixedUser, conv string, seq int64) {
	u.mu.Lock()
	st := u.receipts[conv]
	if st == nil {
		st = &receiptState{}
		u.receipts[conv] = st
	}
	if st.busy {
		st.pending = max(st.pending, seq)
		u.mu.Unlock()
		return
	}
	st.busy = true
	u.mu.Unlock()
	r.sendReceipt(u, st, conv, seq)
}

func (r *mixedRun) sendReceipt(u *mixedUser, st *receiptState, conv string, seq int64) {
	status := "delivered"
	if rand.Float64() < r.cfg.Workload.ReadShare {
		status = "read"
	}
	r.receiptsSent.Add(1)
	r.receiptsOut.Add(1)
	f := wire.ClientFrame{Type: wire.TypeReceipt, Conversation: conv, Seq: seq, Status: status}
	err := u.conn.DoAsync(f, func(_ wire.ServerFrame, err error) {
		r.receiptsOut.Add(-1)
		if err != nil {
			r.fail("receipt", err)
		}
		u.mu.Lock()
		next := st.pending
		st.pending = 0
		st.busy = next > 0
		u.mu.Unlock()
		if next > 0 {
			r.sendReceipt(u, st, conv, next)
		}
	})
	if err != nil {
		r.receiptsOut.Add(-1)
		r.fail("receipt", err)
		u.mu.Lock()
		st.busy = false
		u.mu.Unlock()
	}
}

// fail counts an error by what failed and its code.
func (r *mixedRun) fail(what string, err error) {
	code := client.ErrorCode(err)
	if code == "" {
		code = "network"
		if errors.Is(err, client.ErrClosed) {
			code = "closed"
		}
	}
	r.emu.Lock()
	r.errs[what+":"+code]++
	r.emu.Unlock()
}

// sendLoop sends the run's messages open loop at the plan's rate, each to
// a 1:1 peer or a group picked at random (a group by one of its members,
// so bigger groups get more messages), until end; then waits for the
// acks.
func (r *mixedRun) sendLoop(ctx context.Context, start, end time.Time) {
	cfg, p := r.cfg, r.plan
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	type member struct{ k, i int }
	var members []member
	for k, g := range p.Groups {
		for _, i := range g {
			members = append(members, member{k, i})
		}
	}
	mediaP := p.Media / p.Rate
	for n := 0; ; n++ {
		due := start.Add(time.Duration(float64(n) / p.Rate * float64(time.Second)))
		if !due.Before(end) || !sleepUntil(due, ctx.Done()) {
			break
		}
		var u *mixedUser
		key, conv := "d", ""
		if len(members) > 0 && rng.Float64() < cfg.Workload.GroupShare {
			m := members[rng.IntN(len(members))]
			u, key, conv = r.users[m.i], "g"+strconv.Itoa(m.k), r.convs[m.k]
		} else {
			u = r.users[rng.IntN(len(r.users))]
		}
		media := rng.Float64() < mediaP
		typing := rng.Float64() < cfg.Workload.TypingShare
		r.inflight.Add(1)
		go r.sendOne(ctx, u, key, conv, due, n, media, typing)
	}
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.AckTimeout):
	case <-ctx.Done():
	}
}

// sendOne sends message n: typing first if asked, the upload if asked
// (then the latency counts from the upload's end), then the message.
func (r *mixedRun) sendOne(ctx context.Context, u *mixedUser, key, conv string, due time.Time, n int, media, typing bool) {
	defer r.inflight.Done()
	req := client.SendRequest{ClientMsgID: r.cfg.Prefix + "." + strconv.Itoa(n), Conversation: conv}
	typeIn := conv
	if key == "d" {
		req.Conversation, req.ToUser = "", r.users[u.peer].name
		if v, ok := r.dms[u.pair].Load().(string); ok {
			typeIn = v
		}
	}
	if typing && typeIn != "" {
		if err := u.conn.Typing(typeIn); err != nil {
			r.fail("typing", err)
		} else {
			r.typingSent.Add(1)
		}
	}
	if media && r.png != nil {
		u.upload.Lock()
		t0 := time.Now()
		m, err := u.api.UploadMedia(ctx, "image/png", bytes.NewReader(r.png))
		u.upload.Unlock()
		if err != nil {
			r.fail("upload", err)
		} else {
			r.uploads.Add(1)
			now := time.Now()
			r.uploadHist.record(u.idx, now.Sub(t0), now.UnixNano())
			req.MediaID = m.ID
			due = time.Now()
		}
	}
	req.Text = text(due, r.cfg.Size)
	measured := due.UnixNano() >= r.warmEnd
	r.sent.Add(1)
	r.inflight.Add(1)
	err := u.conn.SendAsync(req, func(msg wire.Message, err error) {
		defer r.inflight.Done()
		if err != nil {
			r.fail("send", err)
			return
		}
		now := time.Now()
		r.ackedN.Add(1)
		u.rcv[key].Own(msg)
		if key == "d" {
			r.dms[u.pair].CompareAndSwap(nil, msg.Conversation)
		}
		r.amu.Lock()
		r.acked[key+"/"+u.name]++
		r.amu.Unlock()
		if measured {
			r.ackHist.record(u.idx, now.Sub(due), now.UnixNano())
		}
	})
	if err != nil {
		r.inflight.Done()
		r.fail("send", err)
	}
}

// churnLoop connects churners at the plan's rate until end, each staying
// about Hold; a churner already online is skipped for the next one.
func (r *mixedRun) churnLoop(ctx context.Context, start, end time.Time) {
	p := r.plan
	if p.Connects <= 0 || len(r.churn) == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 2))
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(float64(n) / p.Connects * float64(time.Second)))
		if !due.Before(end) || !sleepUntil(due, ctx.Done()) {
			return
		}
		var c *churner
		for k, first := 0, rng.IntN(len(r.churn)); k < len(r.churn); k++ {
			if cand := r.churn[(first+k)%len(r.churn)]; cand.online.CompareAndSwap(false, true) {
				c = cand
				break
			}
		}
		if c == nil {
			r.churnSkipped.Add(1)
			continue
		}
		hold := time.Duration(float64(p.Hold) * (0.5 + rng.Float64()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.online.Store(false)
			conn, err := c.api.Dial(ctx, "bench")
			if err != nil {
				r.fail("connect", err)
				return
			}
			r.connects.Add(1)
			sleepUntil(time.Now().Add(hold), ctx.Done())
			conn.Close()
			r.disconnects.Add(1)
		}()
	}
}

// drain waits until every receiver has every acked message of each
// member it expects and no receipt is unanswered, or Drain passes.
func (r *mixedRun) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	r.amu.Lock()
	acked := make(map[string]int64, len(r.acked))
	for k, v := range r.acked {
		acked[k] = v
	}
	r.amu.Unlock()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done := r.receiptsOut.Load() == 0
	check:
		for _, u := range r.users {
			for key, rc := range u.rcv {
				for _, s := range rc.expect {
					if rc.Received(s) < acked[key+"/"+s] {
						done = false
						break check
					}
				}
			}
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
