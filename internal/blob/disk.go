package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Disk is a Store on a local directory: one file per key. A Put writes a
// temporary file in the same directory, syncs it and renames it into place,
// so a reader never sees half an object and a crash leaves none behind
// (only a stray temporary file).
type Disk struct {
	dir string
}

var _ Store = (*Disk)(nil)

// NewDisk returns a Disk store on dir, creating it if needed.
func NewDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Disk{dir: dir}, nil
}

func (d *Disk) path(key string) string {
	return filepath.Join(d.dir, filepath.FromSlash(key))
}

// Put implements Store.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return 0, diskErr(err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return 0, diskErr(err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, diskErr(err)
	}
	if err := f.Close(); err != nil {
		return n, diskErr(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return n, diskErr(err)
	}
	done = true
	// The rename is durable once the directory is synced: only then may a
	// record pointing at this object be committed.
	if err := syncDir(filepath.Dir(p)); err != nil {
		return n, diskErr(err)
	}
	return n, nil
}

// Get implements Store.
func (d *Disk) Get(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, chat.Errorf(chat.ENotFound, "no blob %q", key)
	} else if err != nil {
		return nil, 0, diskErr(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, diskErr(err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, chat.Errorf(chat.ENotFound, "no blob %q", key)
	}
	return f, st.Size(), nil
}

// Delete implements Store.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := os.Remove(d.path(key))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return diskErr(err)
}

// diskErr keeps the cause for the log; a full disk is worth a clearer code.
func diskErr(err error) error {
	if errors.Is(err, errNoSpace) {
		return chat.Errorf(chat.EUnavailable, "the media disk is full")
	}
	return fmt.Errorf("blob: %w", err)
}

// ctxReader stops a copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
