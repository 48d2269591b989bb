// Package push sends Web Push notifications (RFC 8030, payloads encrypted
// per RFC 8291, VAPID per RFC 8292) from the store. A message stored with
// push on leaves an outbox entry in its own transaction; once the
// presence grace has passed, a node claims the entry, works out which
// members are away and want it, and in one transaction queues one job per
// subscription of theirs and deletes the entry. Every node claims due
// entries and jobs with a lease (SKIP LOCKED on PostgreSQL), so nothing
// rests in a node's memory: a node that dies leaves what it claimed to be
// claimed again when the lease runs out.
//
// Delivery is at least once. A push whose request the push service
// accepted but whose job the node could not delete (it died in between)
// is sent again after the lease; every push carries its conversation's
// Topic, so a push service that still holds the first copy for an offline
// device replaces it with the second, and the device sees one.
package push

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Config tunes a Sender. Zero values take the defaults in brackets.
type Config struct {
	Service *chat.Service
	Store   chat.PushStore
	// Subject is the VAPID "sub" claim: a mailto: or https: contact for the
	// push services [mailto:admin@localhost].
	Subject string
	Preview bool          // payloads carry the message text
	Grace   time.Duration // wait this long after a message before pushing (the presence grace)
	TTL     time.Duration // how long a push service keeps an undelivered push [24h]
	Poll    time.Duration // how often the queue is looked at [250ms]
	Lease   time.Duration // a claimed job's lease; a dead node's jobs are due again after it [1m]
	Batch   int           // jobs claimed at once [64]
	Workers int           // pushes in flight [8]
	// MaxAttempts: a job that failed this often is dropped [10].
	MaxAttempts int
	// Backoff is the first retry's delay, doubled each attempt up to 10
	// minutes [1s]; a Retry-After answer overrides it.
	Backoff time.Duration
	Client  *http.Client // [a client with a 30 s timeout]
	Logger  *slog.Logger
	Metrics Metrics
}

// Metrics are the sender's hooks; any may be nil.
type Metrics struct {
	Sent    func()
	Failed  func(status int) // 0 for a network error
	Removed func()           // subscriptions dropped on 404 or 410
	Depth   func(n int)      // queued jobs, after each look at the queue
	Outbox  func(n int)      // outbox entries not yet handed off, likewise
}

// Sender hands off due outbox entries and sends due pushes.
type Sender struct {
	cfg       Config
	log       *slog.Logger
	priv, pub string
}

// New returns a Sender, generating the cluster's VAPID keys in the store
// if it has none (every node then signs with the same pair).
func New(ctx context.Context, cfg Config) (*Sender, error) {
	if cfg.Subject == "" {
		cfg.Subject = "mailto:admin@localhost"
	}
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Poll == 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	if cfg.Workers == 0 {
		cfg.Workers = 8
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		return nil, err
	}
	priv, pub, err = cfg.Store.VAPIDKeys(ctx, priv, pub)
	if err != nil {
		return nil, err
	}
	return &Sender{cfg: cfg, log: cfg.Logger, priv: priv, pub: pub}, nil
}

// PublicKey returns the VAPID public key (uncompressed P-256, base64url)
// browsers subscribe with.
func (s *Sender) PublicKey() string { return s.pub }

// finishWait is how long a stopping node lets its sends in flight run, so
// that each accepted push is recorded as sent rather than sent again by
// another node after its lease.
const finishWait = 5 * time.Second

// Run hands off and sends until ctx ends, then lets the sends in flight
// finish (up to finishWait) and releases the jobs it claimed but did not
// start, for other nodes to take at once.
func (s *Sender) Run(ctx context.Context) {
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		s.log.Info("push sender stopping; sends in flight may finish", "within", finishWait)
		time.AfterFunc(finishWait, cancel)
	})
	defer stop()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.handOffRound(ctx)
			if err != nil {
				s.log.Debug("push hand-off round", "err", err)
			}
			if n < s.cfg.Batch {
				break
			}
		}
		for ctx.Err() == nil {
			n, err := s.round(ctx, sendCtx)
			if err != nil {
				s.log.Debug("push round", "err", err)
			}
			if n < s.cfg.Batch {
				break
			}
		}
		s.depths(ctx)
	}
}

func (s *Sender) depths(ctx context.Context) {
	if f := s.cfg.Metrics.Depth; f != nil {
		if n, err := s.cfg.Store.PushQueueDepth(ctx); err == nil {
			f(n)
		}
	}
	if f := s.cfg.Metrics.Outbox; f != nil {
		if n, err := s.cfg.Store.PushOutboxDepth(ctx); err == nil {
			f(n)
		}
	}
}

// round claims one batch of due jobs and sends them. Once ctx ends, jobs
// not started are released; those started go on under sendCtx.
func (s *Sender) round(ctx, sendCtx context.Context) (int, error) {
	now := time.Now()
	jobs, err := s.cfg.Store.ClaimPushes(ctx, now.UnixMilli(), s.cfg.Lease.Milliseconds(), s.cfg.Batch)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			// Stopping: hand the job back now rather than after its lease.
			if err := s.cfg.Store.RetryPush(sendCtx, j.ID, j.DueAt); err != nil {
				s.log.Debug("push release", "err", err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.one(sendCtx, j)
		}()
	}
	wg.Wait()
	return len(jobs), nil
}

// one sends a job and records the outcome at once: the time between the
// push service accepting a push and its job's deletion is the window in
// which a node dying makes the push go twice. A job left alone (the node
// died, or its stop cut the send) is claimed again once its lease runs out.
func (s *Sender) one(ctx context.Context, j chat.PushJob) {
	// The outcome is written even when ctx ends during the send.
	wctx := context.WithoutCancel(ctx)
	want, err := s.cfg.Service.PushWanted(ctx, j)
	if err != nil {
		return // presence unknown: try again after the lease
	}
	if !want {
		s.finish(wctx, j)
		return
	}
	resp, err := webpush.SendNotificationWithContext(ctx, j.Payload, &webpush.Subscription{
		Endpoint: j.Subscription.Endpoint,
		Keys:     webpush.Keys{Auth: j.Subscription.Auth, P256dh: j.Subscription.P256dh},
	}, &webpush.Options{
		HTTPClient:      s.cfg.Client,
		Subscriber:      s.cfg.Subject,
		Topic:           j.Topic,
		TTL:             int(s.cfg.TTL.Seconds()),
		Urgency:         webpush.UrgencyHigh,
		VAPIDPublicKey:  s.pub,
		VAPIDPrivateKey: s.priv,
	})
	status := 0
	var retryAfter string
	if err == nil {
		status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		resp.Body.Close()
	} else if ctx.Err() != nil {
		return
	}
	switch {
	case status >= 200 && status < 300:
		s.finish(wctx, j)
		if f := s.cfg.Metrics.Sent; f != nil {
			f()
		}
		return
	case status == http.StatusNotFound || status == http.StatusGone:
		// The subscription has expired or was withdrawn; its queued jobs go
		// with it.
		if err := s.cfg.Store.DeleteSubscription(wctx, "", j.Subscription.Endpoint); err != nil && chat.ErrorCode(err) != chat.ENotFound {
			s.log.Warn("remove push subscription", "err", err)
		}
		if f := s.cfg.Metrics.Removed; f != nil {
			f()
		}
	}
	if f := s.cfg.Metrics.Failed; f != nil {
		f(status)
	}
	if status == http.StatusNotFound || status == http.StatusGone {
		return
	}
	retry := err != nil || status == http.StatusTooManyRequests || status >= 500
	if !retry || j.Attempts >= s.cfg.MaxAttempts {
		s.log.Info("push dropped", "status", status, "attempts", j.Attempts, "err", err)
		s.finish(wctx, j)
		return
	}
	at := time.Now().Add(s.backoff(j.Attempts, retryAfter))
	if err := s.cfg.Store.RetryPush(wctx, j.ID, at.UnixMilli()); err != nil {
		s.log.Warn("push retry", "err", err)
	}
}

func (s *Sender) finish(ctx context.Context, j chat.PushJob) {
	if err := s.cfg.Store.FinishPush(ctx, j.ID); err != nil {
		s.log.Warn("push finish", "err", err)
	}
}

// backoff is the wait before attempt n+1: Retry-After when the push
// service gave one (seconds or an HTTP date, at most an hour), else
// Backoff doubled per attempt, at most 10 minutes.
func (s *Sender) backoff(attempts int, retryAfter string) time.Duration {
	if retryAfter != "" {
		if secs, err := strconv.Atoi(retryAfter); err == nil && secs >= 0 {
			return min(time.Duration(secs)*time.Second, time.Hour)
		}
		if t, err := http.ParseTime(retryAfter); err == nil {
			return min(max(time.Until(t), 0), time.Hour)
		}
	}
	d := s.cfg.Backoff
	for i := 1; i < attempts && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}
