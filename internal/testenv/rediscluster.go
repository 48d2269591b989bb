package testenv

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of real redis-server processes on
// loopback ports: three masters with one replica each, no persistence, each
// process in its own temporary dir. Every process is killed when the test
// ends.
type RedisCluster struct {
	tb    testing.TB
	Nodes []*RedisNode
}

// RedisNode is one redis-server process of a RedisCluster.
type RedisNode struct {
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// clusterGuard bounds the waits for the cluster to form or heal, so a
// broken cluster fails the test instead of hanging it.
const clusterGuard = 60 * time.Second

// StartRedisCluster starts six redis-server processes with cluster-enabled
// yes, joins them with redis-cli --cluster create (--cluster-replicas 1)
// and waits for cluster_state:ok on every node. A missing redis-server or
// redis-cli skips the test, or fails it when CI is set.
//
// Failures are detected fast (cluster-node-timeout 1s) and a shard whose
// master is down does not stop the others (cluster-require-full-coverage
// no), so a failover test sees a replica take over in seconds.
func StartRedisCluster(tb testing.TB) *RedisCluster {
	tb.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			Need(tb, "%s: %v", bin, err)
		}
	}
	c := &RedisCluster{tb: tb}
	for range 6 {
		c.Nodes = append(c.Nodes, c.startNode())
	}
	tb.Cleanup(func() {
		for _, n := range c.Nodes {
			n.Kill()
		}
	})
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (c *RedisCluster) startNode() *RedisNode {
	tb := c.tb
	tb.Helper()
	port, busPort := FreePort(tb), FreePort(tb)
	dir := tb.TempDir() // nodes.conf and a replica's sync RDB go here
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
		"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
		"--cluster-require-full-coverage", "no", "--cluster-replica-validity-factor", "0",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	n := &RedisNode{Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(n.exited)
	}()
	rc := goredis.NewClient(&goredis.Options{Addr: n.Addr, MaxRetries: -1})
	defer rc.Close()
	deadline := time.Now().Add(clusterGuard)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return n
		}
		select {
		case <-n.exited:
			tb.Fatalf("redis-server on %s exited: %v", n.Addr, err)
		default:
		}
		if time.Now().After(deadline) {
			n.Kill()
			tb.Fatalf("redis-server on %s: %v", n.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL (no goodbye to the cluster) and waits
// for it to exit. Killing twice is once.
func (n *RedisNode) Kill() {
	n.once.Do(func() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	})
}

// Addrs returns the address of every node, masters and replicas.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// alive reports whether n's process still runs.
func (n *RedisNode) alive() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Node returns the node at addr.
func (c *RedisCluster) Node(addr string) *RedisNode {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	c.tb.Fatalf("no cluster node %s", addr)
	return nil
}

// Masters returns the addresses of the live masters that serve slots, as
// the live nodes see them.
func (c *RedisCluster) Masters() []string {
	c.tb.Helper()
	for _, n := range c.Nodes {
		if !n.alive() {
			continue
		}
		out, err := c.clusterNodes(n.Addr)
		if err != nil {
			continue
		}
		var masters []string
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			// id addr@bus flags master ping pong epoch state slots...
			if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			if c.Node(addr).alive() {
				masters = append(masters, addr)
			}
		}
		return masters
	}
	c.tb.Fatal("no live cluster node")
	return nil
}

func (c *RedisCluster) clusterNodes(addr string) (string, error) {
	rc := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return rc.ClusterNodes(ctx).Result()
}

// WaitOK waits until every live node reports cluster_state:ok with all
// 16384 slots assigned to live masters: after creation, and after a
// failover has promoted a replica in place of a killed master.
func (c *RedisCluster) WaitOK() {
	c.tb.Helper()
	deadline := time.Now().Add(clusterGuard)
	for {
		err := c.ok()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("Redis Cluster not ok: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *RedisCluster) ok() error {
	for _, n := range c.Nodes {
		if !n.alive() {
			continue
		}
		rc := goredis.NewClient(&goredis.Options{Addr: n.Addr, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rc.ClusterInfo(ctx).Result()
		cancel()
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		for _, want := range []string{"cluster_state:ok", "cluster_slots_ok:16384"} {
			if !strings.Contains(info, want) {
				return fmt.Errorf("%s: no %s in\n%s", n.Addr, want, info)
			}
		}
		out, err := c.clusterNodes(n.Addr)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		if strings.Contains(out, "fail?") {
			return fmt.Errorf("%s sees a node in doubt:\n%s", n.Addr, out)
		}
		// A master that was killed must have handed its slots over
		// (cluster_state stays ok until the others notice it is gone).
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 {
				continue // no slots
			}
			addr, _, _ := strings.Cut(f[1], "@")
			if !c.Node(addr).alive() {
				return fmt.Errorf("%s still gives slots to the dead node %s", n.Addr, addr)
			}
		}
	}
	return nil
}

// Options returns cluster client options for the cluster.
func (c *RedisCluster) Options() *goredis.ClusterOptions {
	return &goredis.ClusterOptions{Addrs: c.Addrs(), ClusterStateReloadInterval: time.Second}
}

// Client returns a cluster client on every node, closed when the test
// ends. Like a node's, it asks for the slots again every second while in
// use, so it finds a promoted replica soon after a failover.
func (c *RedisCluster) Client(tb testing.TB) *goredis.ClusterClient {
	tb.Helper()
	cc := goredis.NewClusterClient(c.Options())
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
