package media_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/media"
)

// stored is what the store and the blob store hold for alice.
func (e *env) stored(tb testing.TB) (uploads int, bytes int64, files int) {
	tb.Helper()
	u, err := e.store.MediaUsage(context.Background(), "u1", 0)
	if err != nil {
		tb.Fatalf("MediaUsage: %v", err)
	}
	return u.Uploads, u.Bytes, len(e.blobFiles(tb))
}

// TestUploadsPerHour: the upload past the hourly cap is rate_limited with
// the wait until the oldest upload of the hour ages out, stores nothing,
// and does not count against others; an hour later uploads work again.
func TestUploadsPerHour(t *testing.T) {
	e := newEnv(t, func(d *media.Deps) { d.MaxUploadsPerHour = 3 })
	text := []byte("hello")
	for i := range 3 {
		if status, code, _ := e.postWithHeaders(t, "tok-alice", "text/plain", text); status != 201 {
			t.Fatalf("upload %d: %d %q", i+1, status, code)
		}
		e.now.Add(60)
	}
	uploads, size, files := e.stored(t)
	status, code, retry := e.postWithHeaders(t, "tok-alice", "text/plain", text)
	if status != http.StatusTooManyRequests || code != chat.ERateLimited {
		t.Fatalf("upload over the hourly cap: %d %q, want 429 rate_limited", status, code)
	}
	// The first upload was 180 s ago, so a slot frees in 3600-180 s.
	if got, err := strconv.Atoi(retry); err != nil || got != 3600-180 {
		t.Errorf("Retry-After %q, want %d", retry, 3600-180)
	}
	if u, s, f := e.stored(t); u != uploads || s != size || f != files {
		t.Errorf("a refused upload was stored: %d uploads %d bytes %d files, want %d %d %d", u, s, f, uploads, size, files)
	}
	if status, code, _ := e.postWithHeaders(t, "tok-bob", "text/plain", text); status != 201 {
		t.Errorf("bob under his own cap: %d %q, want 201", status, code)
	}
	e.now.Add(3600 - 180)
	if status, code, _ := e.postWithHeaders(t, "tok-alice", "text/plain", text); status != 201 {
		t.Errorf("alice once her first upload is an hour old: %d %q, want 201", status, code)
	}
}

// TestBytesPerUser: an upload that would take a user's stored bytes past
// the cap is too_large, whether its length is declared or streamed, and
// stores nothing; up to the cap is fine, and others have their own.
func TestBytesPerUser(t *testing.T) {
	e := newEnv(t, func(d *media.Deps) { d.MaxUserBytes = 1000 })
	if status, code, _ := e.postWithHeaders(t, "tok-alice", "text/plain", bytes.Repeat([]byte("a"), 600)); status != 201 {
		t.Fatalf("first upload: %d %q", status, code)
	}
	uploads, size, files := e.stored(t)
	over := bytes.Repeat([]byte("b"), 401)
	cases := []struct {
		name string
		body io.Reader
	}{
		{"declared length", bytes.NewReader(over)},
		{"streamed", io.MultiReader(bytes.NewReader(over))},
	}
	for _, c := range cases {
		status, _, code := e.post(t, "tok-alice", "text/plain", c.body)
		if status != http.StatusRequestEntityTooLarge || code != chat.ETooLarge {
			t.Errorf("%s: %d %q, want 413 too_large", c.name, status, code)
		}
		if u, s, f := e.stored(t); u != uploads || s != size || f != files {
			t.Errorf("%s: a refused upload was stored: %d uploads %d bytes %d files, want %d %d %d", c.name, u, s, f, uploads, size, files)
		}
	}
	if status, _, code := e.post(t, "tok-alice", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("c", 400)))); status != 201 {
		t.Errorf("upload reaching the cap exactly: %d %q, want 201", status, code)
	}
	if status, code, _ := e.postWithHeaders(t, "tok-alice", "text/plain", []byte("d")); status != 413 || code != chat.ETooLarge {
		t.Errorf("one byte past a full cap: %d %q, want 413 too_large", status, code)
	}
	if status, code, _ := e.postWithHeaders(t, "tok-bob", "text/plain", bytes.Repeat([]byte("e"), 1000)); status != 201 {
		t.Errorf("bob under his own cap: %d %q, want 201", status, code)
	}
}
