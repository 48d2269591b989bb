package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpapi"
	"github.com/switchboard-chat/switchboard/internal/metrics"
	"github.com/switchboard-chat/switchboard/internal/push"
)

// pushConfig is what `serve` can be told about Web Push.
type pushConfig struct {
	on        bool
	preview   bool
	subject   string
	allowHTTP bool
	backoff   time.Duration
	lease     time.Duration
	attempts  int
}

func (p *pushConfig) flags(fs *flag.FlagSet, getenv func(string) string) {
	fs.BoolVar(&p.on, "push", envBool(getenv, "SWITCHBOARD_PUSH"), "send Web Push notifications to subscribed browsers of users who are away (env SWITCHBOARD_PUSH)")
	fs.BoolVar(&p.preview, "push-preview", envBool(getenv, "SWITCHBOARD_PUSH_PREVIEW"), "pushes carry the message text; without it only conversation, seq and sender (env SWITCHBOARD_PUSH_PREVIEW)")
	str := func(ptr *string, name, envName, def, help string) {
		v := getenv(envName)
		if v == "" {
			v = def
		}
		fs.StringVar(ptr, name, v, help+" (env "+envName+")")
	}
	str(&p.subject, "push-subject", "SWITCHBOARD_PUSH_SUBJECT", "mailto:admin@localhost", "the contact push services see in the VAPID claim (mailto: or https:)")
	fs.BoolVar(&p.allowHTTP, "push-allow-http", false, "accept http:// push endpoints (tests with a push service on the loopback only)")
	fs.DurationVar(&p.backoff, "push-backoff", envDuration(getenv, "SWITCHBOARD_PUSH_BACKOFF", time.Second), "first retry delay of a failed push, doubled per attempt (env SWITCHBOARD_PUSH_BACKOFF)")
	fs.IntVar(&p.attempts, "push-max-attempts", 10, "a push that failed this many times is dropped")
	fs.DurationVar(&p.lease, "push-lease", envDuration(getenv, "SWITCHBOARD_PUSH_LEASE", time.Minute), "how long a claimed push is a node's; a dead node's pushes are sent by another after it (env SWITCHBOARD_PUSH_LEASE)")
}

func envBool(getenv func(string) string, name string) bool {
	switch strings.ToLower(getenv(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// pushWiring holds the sender between the steps of serve that need it.
type pushWiring struct {
	cfg    pushConfig
	sender *push.Sender
	done   chan struct{}
}

// start makes the sender (keeping the cluster's VAPID keys in the store)
// and returns the API's push routes, nil when push is off.
func (w *pushWiring) start(ctx context.Context, svc *chat.Service, store chat.Store, grace time.Duration,
	m *metrics.Metrics, nodeID string, log *slog.Logger) (*httpapi.PushDeps, error) {
	if !w.cfg.on {
		return nil, nil
	}
	if w.cfg.attempts < 1 || w.cfg.backoff <= 0 || w.cfg.lease <= 0 {
		return nil, fmt.Errorf("--push-max-attempts, --push-backoff and --push-lease must be positive")
	}
	ps, ok := store.(chat.PushStore)
	if !ok {
		return nil, chat.Errorf(chat.EUnavailable, "this store does not keep push subscriptions")
	}
	pm := m.Push(nodeID)
	s, err := push.New(ctx, push.Config{Service: svc, Store: ps, Subject: w.cfg.subject, Preview: w.cfg.preview,
		Grace: grace, Backoff: w.cfg.backoff, Lease: w.cfg.lease, MaxAttempts: w.cfg.attempts, Logger: log,
		Metrics: push.Metrics{Sent: pm.Sent, Failed: pm.Failed, Removed: pm.Removed, Depth: pm.Depth, Outbox: pm.Outbox}})
	if err != nil {
		return nil, err
	}
	w.sender, w.done = s, make(chan struct{})
	return &httpapi.PushDeps{PublicKey: s.PublicKey(), AllowHTTP: w.cfg.allowHTTP}, nil
}

// run sends pushes until ctx ends.
func (w *pushWiring) run(ctx context.Context) {
	if w.sender == nil {
		return
	}
	go func() { defer close(w.done); w.sender.Run(ctx) }()
}

// wait returns once the sender has stopped: its sends in flight recorded,
// the jobs it claimed and did not start released.
func (w *pushWiring) wait() {
	if w.done != nil {
		<-w.done
	}
}
