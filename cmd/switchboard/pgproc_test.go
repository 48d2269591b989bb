package main

import (
	"context"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// procPG is a private PostgreSQL cluster (initdb into a temp dir) on a
// fixed loopback port, which a test may start late, kill and start again.
type procPG struct {
	t    testing.TB
	Addr string
	bin  string
	dir  string
	port int
	cred *syscall.Credential // run as the postgres user when the test is root
}

// newProcPG runs initdb into a temp dir and picks a free port; the cluster
// is not started. It is stopped when the test ends.
func newProcPG(t testing.TB) *procPG {
	t.Helper()
	p := newProcPGDir(t, 0)
	p.run("initdb", "-D", p.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	return p
}

// newProcPGStandby copies primary with pg_basebackup into a temp dir, set up
// as its streaming standby, to run on port (0 picks a free one). It is not
// started.
func newProcPGStandby(t testing.TB, primary *procPG, port int) *procPG {
	t.Helper()
	p := newProcPGDir(t, port)
	p.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-D", p.dir, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	return p
}

// newProcPGDir prepares an empty cluster dir and a port.
func newProcPGDir(t testing.TB, port int) *procPG {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		testenv.Need(t, "initdb: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
	}
	if port == 0 {
		port = testenv.FreePort(t)
	}
	p := &procPG{t: t, bin: filepath.Dir(matches[len(matches)-1]), port: port}
	p.Addr = "127.0.0.1:" + strconv.Itoa(p.port)
	if os.Getuid() == 0 {
		// initdb refuses to run as root.
		u, err := osuser.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to root, and the server may run
	// as the postgres user.
	parent, err := os.MkdirTemp("", "switchboard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	p.dir = filepath.Join(parent, "pg")
	t.Cleanup(func() { p.pgctl("stop", "-m", "immediate") })
	return p
}

// Kill ends the postmaster and all its processes with SIGKILL, as a crash
// of the machine would, and waits until they are gone.
func (p *procPG) Kill() {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "postmaster.pid"))
	if err != nil {
		p.t.Fatalf("kill PostgreSQL on %s: %v", p.Addr, err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		p.t.Fatalf("postmaster.pid: %v", err)
	}
	pids := append([]int{pid}, procChildren(pid)...)
	for _, q := range pids {
		_ = syscall.Kill(q, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, q := range pids {
		for syscall.Kill(q, 0) == nil {
			if time.Now().After(deadline) {
				p.t.Fatalf("process %d of PostgreSQL on %s survives SIGKILL", q, p.Addr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// procChildren lists the processes whose parent is pid.
func procChildren(pid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		q, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(pid) {
				out = append(out, q)
			}
		}
	}
	return out
}

// Promote turns a standby into a primary and waits until it is one.
func (p *procPG) Promote() {
	p.t.Helper()
	p.run("pg_ctl", "promote", "-w", "-t", "60", "-D", p.dir)
}

// Exec runs sql on database postgres of the cluster.
func (p *procPG) Exec(sql string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		p.t.Fatalf("connect to %s: %v", p.Addr, err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		p.t.Fatalf("%s on %s: %v", sql, p.Addr, err)
	}
}

func (p *procPG) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

func (p *procPG) run(name string, args ...string) {
	p.t.Helper()
	if out, err := p.command(name, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// pgctl runs pg_ctl on the cluster and ignores its failure (stopping a
// stopped cluster).
func (p *procPG) pgctl(args ...string) {
	args = append(args, "-D", p.dir)
	_ = p.command("pg_ctl", args...).Run()
}

// Start starts the cluster and waits until it accepts connections.
func (p *procPG) Start() {
	p.t.Helper()
	opts := "-c listen_addresses=127.0.0.1 -c port=" + strconv.Itoa(p.port) + " -c unix_socket_directories= -c fsync=off"
	p.run("pg_ctl", "start", "-D", p.dir, "-w", "-t", "60", "-l", filepath.Join(p.dir, "log"), "-o", opts)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, p.URL("postgres"))
		cancel()
		if err == nil {
			_ = c.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("PostgreSQL on %s does not answer: %v", p.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the URL of database name on the cluster.
func (p *procPG) URL(name string) string { return procDBURL(p.Addr, name) }

// String returns what was written so far.
func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
