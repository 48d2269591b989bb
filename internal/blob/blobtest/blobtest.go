// Package blobtest is the conformance suite every blob.Store runs.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Run runs the suite; open returns an empty store for each subtest.
func Run(t *testing.T, open func(tb testing.TB) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutGet", testPutGet},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"Missing", testMissing},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"Seek", testSeek},
		{"BrokenUpload", testBrokenUpload},
		{"BadKeys", testBadKeys},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// MustPut stores b under key.
func MustPut(tb testing.TB, s blob.Store, key string, b []byte) {
	tb.Helper()
	n, err := s.Put(context.Background(), key, bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("Put(%s): %v", key, err)
	}
	if n != int64(len(b)) {
		tb.Fatalf("Put(%s) = %d bytes, want %d", key, n, len(b))
	}
}

// MustGet returns the bytes stored under key.
func MustGet(tb testing.TB, s blob.Store, key string) []byte {
	tb.Helper()
	rc, size, err := s.Get(context.Background(), key)
	if err != nil {
		tb.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("Get(%s): read: %v", key, err)
	}
	if int64(len(b)) != size {
		tb.Fatalf("Get(%s): read %d bytes, size says %d", key, len(b), size)
	}
	return b
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := chat.ErrorCode(err); got != code {
		tb.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func random(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func testPutGet(t *testing.T, s blob.Store) {
	for _, key := range []string{"a", "o/7f/01jabcdefgh", "x.thumb", "a-b_c.d/e"} {
		want := []byte("hello " + key)
		MustPut(t, s, key, want)
		if got := MustGet(t, s, key); !bytes.Equal(got, want) {
			t.Errorf("Get(%s) = %q, want %q", key, got, want)
		}
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	MustPut(t, s, "empty", nil)
	if got := MustGet(t, s, "empty"); len(got) != 0 {
		t.Errorf("Get(empty) = %d bytes, want 0", len(got))
	}
}

func testLarge(t *testing.T, s blob.Store) {
	want := random(t, 3<<20+17)
	// A reader that hands out small pieces, like a network body.
	n, err := s.Put(context.Background(), "large", io.LimitReader(&slowReader{r: bytes.NewReader(want)}, 1<<30))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n != int64(len(want)) {
		t.Fatalf("Put = %d bytes, want %d", n, len(want))
	}
	if got := MustGet(t, s, "large"); !bytes.Equal(got, want) {
		t.Fatalf("Get returned %d different bytes", len(got))
	}
}

func testMissing(t *testing.T, s blob.Store) {
	_, _, err := s.Get(context.Background(), "nope")
	wantCode(t, "Get(missing)", err, chat.ENotFound)
	_, _, err = s.Get(context.Background(), "no/such/dir")
	wantCode(t, "Get(missing nested)", err, chat.ENotFound)
}

func testReplace(t *testing.T, s blob.Store) {
	MustPut(t, s, "k", []byte("first, longer value"))
	MustPut(t, s, "k", []byte("second"))
	if got := MustGet(t, s, "k"); string(got) != "second" {
		t.Errorf("Get after replace = %q, want %q", got, "second")
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	MustPut(t, s, "d/k", []byte("x"))
	if err := s.Delete(ctx, "d/k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, _, err := s.Get(ctx, "d/k")
	wantCode(t, "Get after Delete", err, chat.ENotFound)
	if err := s.Delete(ctx, "d/k"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
}

func testSeek(t *testing.T, s blob.Store) {
	want := random(t, 100_000)
	MustPut(t, s, "seek", want)
	rc, size, err := s.Get(context.Background(), "seek")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	if size != int64(len(want)) {
		t.Fatalf("size = %d, want %d", size, len(want))
	}
	cases := []struct {
		offset int64
		whence int
		pos    int64
		n      int
	}{
		{50_000, io.SeekStart, 50_000, 10},
		{-10, io.SeekEnd, int64(len(want)) - 10, 10},
		{0, io.SeekStart, 0, 1000},
		{10, io.SeekCurrent, 1010, 500},
	}
	for _, c := range cases {
		pos, err := rc.Seek(c.offset, c.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", c.offset, c.whence, err)
		}
		if pos != c.pos {
			t.Fatalf("Seek(%d, %d) = %d, want %d", c.offset, c.whence, pos, c.pos)
		}
		got := make([]byte, c.n)
		if _, err := io.ReadFull(rc, got); err != nil {
			t.Fatalf("read after Seek(%d, %d): %v", c.offset, c.whence, err)
		}
		if !bytes.Equal(got, want[pos:pos+int64(c.n)]) {
			t.Fatalf("bytes after Seek(%d, %d) differ", c.offset, c.whence)
		}
	}
}

var errBroken = errors.New("connection reset")

// testBrokenUpload checks that an upload whose reader fails stores nothing
// and leaves an older object under the same key as it was.
func testBrokenUpload(t *testing.T, s blob.Store) {
	ctx := context.Background()
	broken := io.MultiReader(bytes.NewReader(random(t, 200_000)), errReader{errBroken})
	if _, err := s.Put(ctx, "broken", broken); !errors.Is(err, errBroken) {
		t.Fatalf("Put(broken) = %v, want %v", err, errBroken)
	}
	_, _, err := s.Get(ctx, "broken")
	wantCode(t, "Get(broken)", err, chat.ENotFound)

	MustPut(t, s, "kept", []byte("old"))
	broken = io.MultiReader(bytes.NewReader(random(t, 1000)), errReader{errBroken})
	if _, err := s.Put(ctx, "kept", broken); !errors.Is(err, errBroken) {
		t.Fatalf("Put(kept, broken) = %v, want %v", err, errBroken)
	}
	if got := MustGet(t, s, "kept"); string(got) != "old" {
		t.Errorf("Get(kept) = %q after a broken replace, want %q", got, "old")
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "cancelled", bytes.NewReader([]byte("x"))); err == nil {
		t.Errorf("Put with a cancelled context succeeded")
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "../etc/passwd", "a/../b", "/abs", "a//b", "a/", ".", "sp ace", "q?x", "a\\b", "é"} {
		_, err := s.Put(ctx, key, bytes.NewReader([]byte("x")))
		wantCode(t, fmt.Sprintf("Put(%q)", key), err, chat.EBadRequest)
		_, _, err = s.Get(ctx, key)
		wantCode(t, fmt.Sprintf("Get(%q)", key), err, chat.EBadRequest)
		wantCode(t, fmt.Sprintf("Delete(%q)", key), s.Delete(ctx, key), chat.EBadRequest)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("c/%d", i)
			b := bytes.Repeat([]byte{byte(i)}, 10_000+i)
			if _, err := s.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
				errs <- fmt.Errorf("Put(%s): %w", key, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range n {
		got := MustGet(t, s, fmt.Sprintf("c/%d", i))
		if want := bytes.Repeat([]byte{byte(i)}, 10_000+i); !bytes.Equal(got, want) {
			t.Errorf("Get(c/%d): wrong bytes", i)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// slowReader returns at most 4 KiB per Read.
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	return s.r.Read(p)
}
