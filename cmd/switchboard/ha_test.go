package main

// The high-availability fault test: PostgreSQL as a primary with a
// synchronous streaming standby behind a multi-host URL, Redis as a master
// with a replica behind three Sentinels, three node processes. The primary
// and the master are killed with SIGKILL mid-traffic and the standby and
// the replica take over, as Patroni and Sentinel make them; the test plays
// Patroni's part (pg_ctl promote) so that it runs anywhere PostgreSQL is
// installed. scripts/ha runs the same faults under real Patroni.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// haMaster is the name the sentinels monitor.
const haMaster = "sbha"

// procSentinel is a redis-sentinel process.
type procSentinel struct {
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startProcSentinel starts a sentinel watching master with quorum 2 and a
// 1 s down-after; it is killed when the test ends.
func startProcSentinel(t testing.TB, master string) *procSentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		testenv.Need(t, "redis-sentinel: %v (apt-get install redis-sentinel)", err)
	}
	host, port, _ := strings.Cut(master, ":")
	dir := t.TempDir()
	s := &procSentinel{Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), exited: make(chan struct{})}
	_, sport, _ := strings.Cut(s.Addr, ":")
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf(`port %s
bind 127.0.0.1
daemonize no
dir %s
sentinel resolve-hostnames no
sentinel monitor %s %s %s 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, sport, dir, haMaster, host, port, haMaster, haMaster, haMaster)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &logWriter{}
	s.cmd = exec.Command(bin, conf)
	s.cmd.Stdout, s.cmd.Stderr = logs, logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-sentinel: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
		if t.Failed() {
			t.Logf("sentinel %s:\n%s", s.Addr, logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for s.master() != master {
		if time.Now().After(deadline) {
			t.Fatalf("sentinel %s does not know the master:\n%s", s.Addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// master returns the master address the sentinel gives out, or "".
func (s *procSentinel) master() string {
	c := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := c.GetMasterAddrByName(ctx, haMaster).Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return a[0] + ":" + a[1]
}

// waitSync waits until primary has a synchronous standby streaming.
func waitSync(t testing.TB, primary *procPG) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").Scan(&n)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no synchronous standby on %s (%d, %v)", primary.Addr, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// makeSync makes every commit on primary wait for a standby, as Patroni's
// synchronous_mode does, and waits until one is attached.
func makeSync(t testing.TB, primary *procPG) {
	t.Helper()
	primary.Exec("ALTER SYSTEM SET synchronous_standby_names = '*'")
	primary.Exec("SELECT pg_reload_conf()")
	waitSync(t, primary)
}

// haWindow sums up the acks after a fault: how long from the fault until
// a message first sent after it was acked, and the send->ack latencies
// (retries included) of messages acked from the fault until end.
type haWindow struct {
	recovery      time.Duration
	p50, p99, max time.Duration
	n             int
}

func haMeasure(users []*foUser, fault, faultDone, end time.Time) haWindow {
	var w haWindow
	var lat []time.Duration
	first := time.Time{}
	for _, u := range users {
		u.mu.Lock()
		for _, a := range u.acks {
			if a.sent.After(faultDone) && (first.IsZero() || a.at.Before(first)) {
				first = a.at
			}
			if a.at.After(fault) && a.at.Before(end) {
				lat = append(lat, a.at.Sub(a.sent))
			}
		}
		u.mu.Unlock()
	}
	if !first.IsZero() {
		w.recovery = first.Sub(fault)
	}
	slices.Sort(lat)
	w.n = len(lat)
	if n := len(lat); n > 0 {
		w.p50, w.p99, w.max = lat[n*50/100], lat[min(n-1, n*99/100)], lat[n-1]
	}
	return w
}

func (w haWindow) String() string {
	return fmt.Sprintf("sends acked again %v after the kill; send->ack until the next step (%d acks): p50 %v, p99 %v, max %v",
		w.recovery.Round(time.Millisecond), w.n, w.p50.Round(time.Millisecond), w.p99.Round(time.Millisecond), w.max.Round(time.Millisecond))
}

// haLayout is a running HA layout that a fault test drives: the nodes, and
// how to kill and bring back its PostgreSQL primary and Redis master.
type haLayout struct {
	nodes       []*procNode
	killPG      func(t testing.TB)        // SIGKILL the primary; returns once it is dead
	failoverPG  func(t testing.TB)        // returns once a new primary is in place
	redisMaster func() string             // the master the sentinels give out
	killRedis   func(t testing.TB)        // SIGKILL the Redis master
	restore     func(t testing.TB)        // returns once the killed servers are back as replicas
	primaryURL  func(t testing.TB) string // URL of the database on the current primary
	nodeLog     func(i int) string
	nodeAlive   func(i int) bool
	promotion   string // how failoverPG promotes, for the report
	// loseReplicaState, if set, deletes the presence and registry entries
	// on the Redis replica just before the master dies (as asynchronous
	// replication may lose the newest writes): then the nodes must put
	// them back on the new master at once, well before their periodic
	// refreshes would.
	loseReplicaState func(t testing.TB)
}

func TestFailoverHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Redis and Sentinel clusters")
	}
	// PostgreSQL: a primary and a synchronous standby.
	pg1 := newProcPG(t)
	pg1.Start()
	pg1.Exec("CREATE DATABASE sb")
	pg2 := newProcPGStandby(t, pg1, 0)
	pg2.Start()
	makeSync(t, pg1)
	pgURL := "postgres://postgres@" + pg1.Addr + "," + pg2.Addr + "/sb?sslmode=disable&target_session_attrs=read-write&connect_timeout=2"

	// Redis: a master, a replica, three sentinels.
	master := startProcRedis(t)
	port := testenv.FreePort(t)
	replica := &procRedis{t: t, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)}}
	replica.Start()
	t.Cleanup(replica.Kill)
	var sentinels []string
	for range 3 {
		sentinels = append(sentinels, startProcSentinel(t, master.Addr).Addr)
	}
	redisURL := "redis-sentinel://" + strings.Join(sentinels, ",") + "/" + haMaster + "?db=0"

	nodes := make([]*procNode, 3)
	for i := range nodes {
		nodes[i] = startProcNode(t, fmt.Sprintf("ha-n%d", i), "--postgres", pgURL, "--redis", redisURL, "--redis-prefix", "sbha")
		procWaitStatus(t, nodes[i].URL+"/readyz", http.StatusOK)
	}
	sentinel := &procSentinel{Addr: sentinels[0]}
	runHAFault(t, haLayout{
		nodes:  nodes,
		killPG: func(testing.TB) { pg1.Kill() },
		failoverPG: func(testing.TB) {
			// What Patroni does once the leader key expires; here after 1 s.
			time.Sleep(time.Second)
			pg2.Promote()
		},
		redisMaster: sentinel.master,
		killRedis:   func(testing.TB) { master.Kill() },
		restore: func(t testing.TB) {
			master.Start() // the sentinels turn it into a replica
			pg1b := newProcPGStandby(t, pg2, pg1.port)
			pg1b.Start()
			makeSync(t, pg2)
			deadline := time.Now().Add(60 * time.Second)
			for master.role() != "slave" {
				if time.Now().After(deadline) {
					t.Fatalf("the old Redis master did not become a replica")
				}
				time.Sleep(50 * time.Millisecond)
			}
		},
		primaryURL: func(testing.TB) string { return pg2.URL("sb") },
		nodeLog:    func(i int) string { return nodes[i].logs.String() },
		nodeAlive: func(i int) bool {
			select {
			case <-nodes[i].exited:
				return false
			default:
				return true
			}
		},
		promotion: "standby promoted with pg_ctl 1 s later",
		loseReplicaState: func(t testing.TB) {
			rc := goredis.NewClient(&goredis.Options{Addr: replica.Addr})
			defer rc.Close()
			ctx := ctxT(t)
			if err := rc.ConfigSet(ctx, "replica-read-only", "no").Err(); err != nil {
				t.Fatal(err)
			}
			keys, err := rc.Keys(ctx, "sbha:u:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Del(ctx, append(keys, "sbha:nodes")...).Err(); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// runHAFault runs traffic over the layout's nodes, kills the PostgreSQL
// primary and then the Redis master, restores both, and checks that every
// acknowledged message is stored once on the new primary, that every
// conversation is gapless, that every client caught up and that no node
// restarted. It logs the recovery times and send->ack latencies.
func runHAFault(t *testing.T, l haLayout) {
	prefix := "ha" + testenv.Random(t)[:6] // a long-lived layout keeps earlier runs' users
	users := foUsers(t, prefix, 9, l.nodes)
	group := foGroup(t, users, prefix+"crew")
	tr := startFoTraffic(t, users, 2, foPlan(users, group))
	tr.waitAcked(t, 200)

	pgKill := time.Now()
	l.killPG(t)
	pgKilled := time.Now()
	l.failoverPG(t)
	pgPromoted := time.Since(pgKill)
	tr.waitAcked(t, 200)
	time.Sleep(2 * time.Second) // steady traffic again
	pgWin := haMeasure(users, pgKill, pgKilled, time.Now())

	resyncsBefore := map[string]int{}
	for _, u := range users {
		u.mu.Lock()
		resyncsBefore[u.name] = u.resyncs
		u.mu.Unlock()
	}
	oldMaster := l.redisMaster()
	if l.loseReplicaState != nil {
		l.loseReplicaState(t)
	}
	rKill := time.Now()
	l.killRedis(t)
	rKilled := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for m := l.redisMaster(); m == "" || m == oldMaster; m = l.redisMaster() {
		if time.Now().After(deadline) {
			t.Fatalf("the sentinels did not promote the replica (master %q)", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	switched := time.Since(rKill)
	if l.loseReplicaState != nil {
		// Presence refreshes every 10 s and the registry every 5 s; after
		// a switch the nodes re-publish both within about a second.
		waitRedisState(t, l.redisMaster(), len(users), len(l.nodes), 4*time.Second)
	}
	tr.waitAcked(t, 200)
	time.Sleep(2 * time.Second)
	rWin := haMeasure(users, rKill, rKilled, time.Now())

	l.restore(t)
	tr.waitAcked(t, 200)
	tr.Stop(t)

	db, err := pgxpool.New(context.Background(), l.primaryURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	checkStore(t, db, users)
	// A master switch breaks every node's bus link: each tells its clients
	// to resync.
	deadline = time.Now().Add(30 * time.Second)
	for _, u := range users {
		for {
			u.mu.Lock()
			n := u.resyncs
			u.mu.Unlock()
			if n > resyncsBefore[u.name] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s got no resync frame after the Redis failover", u.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	finalSync(t, users)
	waitCaughtUp(t, db, users)
	wantNoHoles(t, users)
	for i, n := range l.nodes {
		if !l.nodeAlive(i) {
			t.Errorf("node %s exited", n.ID)
		}
		if got := procStatus(n.URL + "/readyz"); got != http.StatusOK {
			t.Errorf("node %s: /readyz %d after both failovers", n.ID, got)
		}
		// Each outage shows in the node's log as a start and an end line.
		logs := l.nodeLog(i)
		counts := map[string]int{}
		for _, what := range []string{"PostgreSQL unavailable", "PostgreSQL available again", "Redis unavailable", "Redis available again", "Redis server changed", "level=ERROR"} {
			counts[what] = strings.Count(logs, what)
		}
		if counts["PostgreSQL unavailable"] < 1 || counts["PostgreSQL available again"] != counts["PostgreSQL unavailable"] ||
			counts["Redis available again"]+counts["Redis server changed"] < 1 {
			t.Errorf("node %s did not log the outages' starts and ends: %v", n.ID, counts)
		}
		errs := map[string]int{}
		for _, line := range strings.Split(logs, "\n") {
			if i := strings.Index(line, "msg="); i >= 0 && strings.Contains(line, "level=ERROR") {
				msg, _, _ := strings.Cut(line[i+4:], " err=")
				errs[msg]++
			}
		}
		t.Logf("node %s log lines: %v; ERROR lines by message: %v", n.ID, counts, errs)
	}
	t.Logf("PostgreSQL primary SIGKILLed, new primary after %v (%s): %v", pgPromoted.Round(time.Millisecond), l.promotion, pgWin)
	t.Logf("Redis master SIGKILLed, Sentinel switched in %v: %v", switched.Round(time.Millisecond), rWin)
	t.Logf("message frames received again (dropped by seq): %d", redelivered(users))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average at the end: %s", strings.TrimSpace(string(b)))
	}
}

// role returns the server's replication role (master or slave), or "".
func (r *procRedis) role() string {
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "role:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// waitRedisState waits until the Redis at addr holds presence entries for
// users users and registry entries for nodes nodes.
func waitRedisState(t testing.TB, addr string, users, nodes int, within time.Duration) {
	t.Helper()
	rc := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		keys, _ := rc.Keys(ctx, "sbha:u:*").Result()
		n, _ := rc.HLen(ctx, "sbha:nodes").Result()
		cancel()
		if len(keys) == users && int(n) == nodes {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the switch, the new master holds presence for %d of %d users and %d of %d nodes", within, len(keys), users, n, nodes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
