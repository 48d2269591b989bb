// Package bench is Switchboard's load generator: it opens real WebSocket
// connections to one or more nodes through package client, drives one of
// a few scenarios (idle connections, direct messages, a group fan-out),
// measures latency with HdrHistogram and the nodes' cost from their
// /metrics, and checks that every acknowledged message reached every
// online recipient once and in order, so a fast but lossy server fails.
//
// A run is split over workers (Config.Procs): goroutines of this process,
// or processes started through Config.StartWorker, each holding a share
// of the connections. Workers and the coordinator speak JSON lines (see
// RunWorker), so the same path serves both.
package bench

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Scenarios.
const (
	Connections = "connections" // N authenticated idle connections
	DM          = "dm"          // pairs of users sending each other direct messages
	Group       = "group"       // one group, some members sending, all online
	Room        = "room"        // one large group watched by some members while others come and go (see room.go)
	Mixed       = "mixed"       // a compressed day of daily users: 1:1 and groups, receipts, presence, typing, media (see mixed.go)
)

// Config describes a run. The zero values of the optional fields take the
// defaults that Defaults fills in.
type Config struct {
	Scenario string
	Targets  []string // node base URLs, e.g. http://127.0.0.1:8080
	// Metrics are the targets' metrics listeners (serve --metrics-addr),
	// base URLs in Targets order, scraped before and after the load. Empty
	// leaves the per-node figures out of the report.
	Metrics []string
	// SourceAddrs are local addresses to dial from, round-robin: one source
	// address reaches only ~28k ports per destination.
	SourceAddrs []net.IP

	Conns   int // connections: how many
	Pairs   int // dm: how many pairs of users
	Members int // group: online members
	Senders int // group: how many of the members send

	Watchers int // room: online members watching the room
	Churners int // room: members who connect and disconnect, each a presence change
	Changes  int // room: presence changes to make (online and offline each count one)

	// Mixed: Users daily users, Compress-fold in time, shaped by Workload
	// (DefaultWorkload when its MsgsPerDay is 0), random choices from Seed;
	// a run holds when its p99 send->receive is under Goal.
	Users    int
	Compress float64
	Workload Workload
	Seed     uint64
	Goal     time.Duration

	Rate     float64       // messages per second over all senders; 0 means as fast as InFlight allows
	Duration time.Duration // how long to send after the warmup (unless Messages > 0)
	Messages int           // total messages to send, warmup included; 0 means use Duration
	Warmup   time.Duration // sent and checked but not counted in the figures
	Size     int           // message text size in bytes
	// ChangeEvery makes senders change their own messages: after the ack
	// of every ChangeEvery-th message its sender edits it, or reacts to
	// it, by turns; every member checks it gets each change once, in rev
	// order. 0 means no changes.
	ChangeEvery int

	Prefix          string        // user and group name prefix; random when empty
	Procs           int           // workers
	InFlight        int           // unacknowledged sends allowed per sending connection
	DialConcurrency int           // signups, logins and dials under way at once, per worker
	Drain           time.Duration // after the last ack, how long to wait for deliveries
	AckTimeout      time.Duration // after the last send, how long to wait for acks
	Settle          time.Duration // connections: wait before the second scrape

	// Progress, when set, receives a live progress line (with \r) each second.
	Progress io.Writer
	// StartWorker starts worker i of Procs for cfg (Defaults applied: the
	// workers must use its Prefix); nil runs workers as goroutines.
	StartWorker func(cfg *Config, i int) (Worker, error)
	// HTTPClient makes the API calls and scrapes; nil means a pooled default.
	HTTPClient *http.Client

	// Worker is this worker's index, set by the coordinator.
	Worker int
}

// Worker is a running worker: the coordinator writes commands to In and
// reads messages from Out, then calls Wait.
type Worker struct {
	In   io.WriteCloser
	Out  io.Reader
	Wait func() error
}

// Defaults fills in unset fields and checks the rest.
func (c *Config) Defaults() error {
	switch c.Scenario {
	case Connections, DM, Group, Room, Mixed:
	case "":
		return errors.New("no scenario given (connections, dm, group, room or mixed)")
	default:
		return fmt.Errorf("unknown scenario %q (connections, dm, group, room or mixed)", c.Scenario)
	}
	if len(c.Targets) == 0 {
		return errors.New("no --target given")
	}
	c.Targets = append([]string(nil), c.Targets...) // callers may share the slice
	for i, t := range c.Targets {
		c.Targets[i] = strings.TrimRight(t, "/")
		if !strings.HasPrefix(t, "http://") && !strings.HasPrefix(t, "https://") {
			return fmt.Errorf("target %q: want an http:// or https:// URL", t)
		}
	}
	if len(c.Metrics) > 0 && len(c.Metrics) != len(c.Targets) {
		return fmt.Errorf("%d --metrics for %d --target; give one per target, in the same order", len(c.Metrics), len(c.Targets))
	}
	c.Metrics = append([]string(nil), c.Metrics...)
	for i, m := range c.Metrics {
		c.Metrics[i] = strings.TrimRight(m, "/")
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.Conns, 1000)
	def(&c.Pairs, 10)
	def(&c.Members, 100)
	def(&c.Senders, 1)
	def(&c.Size, 64)
	def(&c.Procs, 1)
	def(&c.InFlight, 1000)
	def(&c.DialConcurrency, 64)
	def(&c.Watchers, 10)
	def(&c.Churners, 10)
	def(&c.Changes, 200)
	if c.Scenario == Room && c.Watchers+c.Churners > c.Members {
		return fmt.Errorf("--watchers %d and --churners %d are more than --members %d", c.Watchers, c.Churners, c.Members)
	}
	if c.Senders > c.Members {
		return fmt.Errorf("--senders %d is more than --members %d", c.Senders, c.Members)
	}
	if c.ChangeEvery < 0 {
		return errors.New("--change-every must not be negative")
	}
	if c.Scenario == Mixed {
		def(&c.Users, 1000)
		if c.Compress <= 0 {
			c.Compress = 5
		}
		if c.Workload.MsgsPerDay == 0 {
			c.Workload = DefaultWorkload()
		}
		if c.Goal <= 0 {
			c.Goal = 100 * time.Millisecond
		}
		if c.Seed == 0 {
			c.Seed = 1
		}
	}
	if c.Rate < 0 {
		return errors.New("--rate must not be negative")
	}
	if c.Duration <= 0 && c.Messages <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 10 * time.Second
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = time.Minute
	}
	if c.Size < 24 {
		c.Size = 24 // room for the send time
	}
	if c.Prefix == "" {
		c.Prefix = "b" + strings.ToLower(rand.Text()[:6])
	}
	if len(c.Prefix) > 16 {
		return fmt.Errorf("--prefix %q: at most 16 characters", c.Prefix)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}}
	}
	return nil
}

// share returns the half-open range [lo, hi) of n items that worker w of
// procs handles.
func share(n, w, procs int) (lo, hi int) {
	return n * w / procs, n * (w + 1) / procs
}

// groupName is the run's group.
func (c *Config) groupName() string { return c.Prefix + "-g" }

// userName names the i-th user of a role.
func (c *Config) userName(role string, i int) string {
	return fmt.Sprintf("%s-%s%d", c.Prefix, role, i)
}

func (c *Config) password(user string) string { return "pw-" + user }

// target picks the node for the i-th connection.
func (c *Config) target(i int) string { return c.Targets[i%len(c.Targets)] }

// senders returns how many connections send in the whole run.
func (c *Config) senders() int {
	switch c.Scenario {
	case DM:
		return 2 * c.Pairs
	case Group:
		return c.Senders
	}
	return 0
}

// perSender returns the message budget of the k-th sender (0: no budget).
func (c *Config) perSender(k int) int {
	if c.Messages <= 0 {
		return 0
	}
	n := c.senders()
	q := c.Messages / n
	if k < c.Messages%n {
		q++
	}
	return q
}

// sleepUntil waits for t or for done.
func sleepUntil(t time.Time, done <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-done:
		return false
	}
}
