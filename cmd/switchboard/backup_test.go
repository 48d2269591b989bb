package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

func cmdRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctxT(t), args, func(string) string { return "" }, &out, &errb)
	return out.String() + errb.String(), err
}

// A backup taken while the server takes writes restores into a fresh data
// directory where a new server serves the history: every message acked
// before the backup began, with no gap in seq.
func TestBackupRestoreWhileWriting(t *testing.T) {
	s := startServer(t)
	ctx := ctxT(t)
	pat := user(t, s, "pat")
	user(t, s, "quinn")
	conn := dial(t, pat, "writer")
	first, err := conn.Send(ctx, client.SendRequest{ToUser: "quinn", Text: "before the backup"})
	if err != nil {
		t.Fatal(err)
	}

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := conn.Send(ctx, client.SendRequest{ToUser: "quinn", Text: "during"}); err != nil {
				t.Errorf("send during the backup: %v", err)
				return
			}
			acked.Add(1)
		}
	}()
	for acked.Load() < 20 { // the writes are under way
		time.Sleep(5 * time.Millisecond)
	}
	before := acked.Load() + 1 // the first message too
	out := filepath.Join(t.TempDir(), "switchboard.backup")
	if msg, err := cmdRun(t, "backup", "--data", s.Data, "--out", out); err != nil {
		t.Fatalf("backup: %v\n%s", err, msg)
	}
	close(stop)
	wg.Wait()
	if _, err := cmdRun(t, "backup", "--data", s.Data, "--out", out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a backup over an existing file: %v", err)
	}
	s.Stop(t)

	fresh := filepath.Join(t.TempDir(), "restored")
	if msg, err := cmdRun(t, "restore", "--data", fresh, "--in", out); err != nil {
		t.Fatalf("restore: %v\n%s", err, msg)
	}
	if _, err := cmdRun(t, "restore", "--data", fresh, "--in", out); err == nil {
		t.Errorf("a restore over an existing store: no error")
	}
	if _, err := cmdRun(t, "backup", "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Errorf("a backup of a data dir with no store: no error")
	}
	if _, err := cmdRun(t, "backup", "--data", s.Data); err == nil {
		t.Errorf("a backup without --out: no error")
	}
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not a database at all, just some bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cmdRun(t, "restore", "--data", t.TempDir(), "--in", junk); err == nil {
		t.Errorf("restoring a file that is no database: no error")
	}

	r := startServer(t, "--data", fresh)
	reader := login(t, r, "quinn")
	var h []wire.Message
	for {
		page, err := reader.Messages(ctx, first.Conversation, client.HistoryQuery{After: int64(len(h)), Forward: true, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		h = append(h, page...)
	}
	if int64(len(h)) < before || h[0].Text != "before the backup" {
		t.Fatalf("restored history has %d messages; want at least %d starting with the first", len(h), before)
	}
	for i, m := range h {
		if m.Seq != int64(i+1) {
			t.Fatalf("restored history: message %d has seq %d", i, m.Seq)
		}
	}
	t.Logf("backup taken during writes: %d messages acked before it began, %d in it, %d acked in all", before, len(h), acked.Load()+1)
}
