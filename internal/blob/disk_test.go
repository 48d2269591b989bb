package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/blob/blobtest"
)

func openDisk(tb testing.TB) blob.Store {
	tb.Helper()
	s, err := blob.NewDisk(filepath.Join(tb.TempDir(), "media"))
	if err != nil {
		tb.Fatalf("NewDisk: %v", err)
	}
	return s
}

func TestDisk(t *testing.T) { blobtest.Run(t, openDisk) }

// TestDiskNoLeftovers checks that failed uploads leave no temporary files.
func TestDiskNoLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader("partial")
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(cctx, "a/b", r); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("files left after a failed Put: %v", files)
	}
}
