package media

import (
	"context"
	"io"

	"github.com/switchboard-chat/switchboard/internal/blob"
)

// Open returns the stored bytes of an upload (its original, after
// metadata stripping), for an account export. The caller checks access.
func Open(ctx context.Context, blobs blob.Store, id string) (io.ReadCloser, error) {
	rc, _, err := blobs.Get(ctx, originalKey(id))
	return rc, err
}
