//go:build patroni

package main

// The long form of the HA fault test, against the layout `scripts/ha up`
// runs: three Patroni members on etcd, Redis behind three Sentinels, three
// nodes. It is built only with the patroni tag: run it with
// `scripts/ha fault` (which sets the tag and SWITCHBOARD_HA_DIR).

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// haEnv reads the KEY='value' lines scripts/ha writes to HA_DIR/env.
func haEnv(t testing.TB, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("scripts/ha is not up: %v", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	return env
}

// patroniMember is one entry of Patroni's GET /cluster.
type patroniMember struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"`
	Port  int    `json:"port"`
}

// patroniMembers asks each member's REST API in turn for the cluster.
func patroniMembers(apiPorts []string) []patroniMember {
	for _, p := range apiPorts {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+p+"/cluster", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			continue
		}
		var body struct {
			Members []patroniMember `json:"members"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		cancel()
		if err == nil {
			return body.Members
		}
	}
	return nil
}

func patroniRole(members []patroniMember, role string) (patroniMember, bool) {
	for _, m := range members {
		if m.Role == role && (m.State == "running" || m.State == "streaming") {
			return m, true
		}
	}
	return patroniMember{}, false
}

func TestFailoverPatroni(t *testing.T) {
	dir := os.Getenv("SWITCHBOARD_HA_DIR")
	if dir == "" {
		t.Fatal("SWITCHBOARD_HA_DIR is not set: run this test with `scripts/ha fault`")
	}
	env := haEnv(t, dir)
	apiPorts := strings.Fields(env["HA_PATRONI_API"])
	script := filepath.Join("..", "..", "scripts", "ha")
	ha := func(t testing.TB, cmd string) string {
		t.Helper()
		c := exec.Command(script, cmd)
		c.Env = append(os.Environ(), "HA_DIR="+dir)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("scripts/ha %s: %v", cmd, err)
		}
		return strings.TrimSpace(string(out))
	}
	var nodes []*procNode
	pids := map[string]int{}
	logStart := map[string]int64{}
	for i, u := range strings.Split(env["HA_NODES"], ",") {
		name := "node" + strconv.Itoa(i+1)
		n := &procNode{ID: "ha-" + name, URL: u}
		nodes = append(nodes, n)
		b, err := os.ReadFile(filepath.Join(dir, "pids", name))
		if err != nil {
			t.Fatal(err)
		}
		pids[name], _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if st, err := os.Stat(filepath.Join(dir, name+".log")); err == nil {
			logStart[name] = st.Size()
		}
		procWaitStatus(t, u+"/readyz", http.StatusOK)
	}
	leader, ok := patroniRole(patroniMembers(apiPorts), "leader")
	if !ok {
		t.Fatal("no Patroni leader")
	}
	if _, ok := patroniRole(patroniMembers(apiPorts), "sync_standby"); !ok {
		t.Fatal("no synchronous standby")
	}
	sentinel := &procSentinel{Addr: strings.Split(env["HA_SENTINELS"], ",")[0]}
	var killedRedis string
	runHAFault(t, haLayout{
		nodes:  nodes,
		killPG: func(t testing.TB) { ha(t, "kill-pg") },
		failoverPG: func(t testing.TB) {
			deadline := time.Now().Add(90 * time.Second)
			for {
				if m, ok := patroniRole(patroniMembers(apiPorts), "leader"); ok && m.Name != leader.Name {
					leader = m
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("Patroni did not promote another member")
				}
				time.Sleep(50 * time.Millisecond)
			}
		},
		redisMaster: sentinel.master,
		killRedis: func(t testing.TB) {
			killedRedis = sentinel.master()
			ha(t, "kill-redis")
		},
		restore: func(t testing.TB) {
			ha(t, "restore")
			deadline := time.Now().Add(120 * time.Second)
			for {
				ms := patroniMembers(apiPorts)
				_, sync := patroniRole(ms, "sync_standby")
				running := 0
				for _, m := range ms {
					if m.State == "running" || m.State == "streaming" {
						running++
					}
				}
				r := &procRedis{Addr: killedRedis}
				if sync && running == 3 && r.role() == "slave" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("not restored: members %+v, old Redis master role %q", ms, r.role())
				}
				time.Sleep(100 * time.Millisecond)
			}
		},
		primaryURL: func(testing.TB) string {
			return procDBURL("127.0.0.1:"+strconv.Itoa(leader.Port), env["HA_DB"])
		},
		nodeLog: func(i int) string {
			name := "node" + strconv.Itoa(i+1)
			b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			if off := logStart[name]; off <= int64(len(b)) {
				b = b[off:]
			}
			return string(b)
		},
		nodeAlive: func(i int) bool {
			return syscall.Kill(pids["node"+strconv.Itoa(i+1)], 0) == nil
		},
		promotion: "Patroni, ttl 10 s, loop_wait 1 s",
	})
}
