package media

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// quotaWindow is the period MaxUploadsPerHour counts over.
const quotaWindow = time.Hour

// checkQuota refuses, before any of its bytes are read, an upload by user
// that would cross a per-user cap: ERateLimited (with the wait until the
// oldest upload of the hour ages out) at MaxUploadsPerHour, ETooLarge if
// the user's stored bytes plus the declared length (-1: unknown) would
// pass MaxUserBytes. It returns the usage, for checkStored. The counts
// come from the store, so they hold across a cluster's nodes; uploads
// racing each other may each pass, overshooting by at most their number.
func (h *handler) checkQuota(ctx context.Context, user string, declared int64) (chat.MediaUsage, error) {
	if h.MaxUploadsPerHour < 0 && h.MaxUserBytes < 0 {
		return chat.MediaUsage{}, nil
	}
	now := h.Now()
	// An upload counts for exactly an hour: from created_at to an hour
	// later, exclusive.
	u, err := h.Meta.MediaUsage(ctx, user, now.Add(-quotaWindow).UnixMilli()+1)
	if err != nil {
		return u, err
	}
	if h.MaxUploadsPerHour >= 0 && u.Uploads >= h.MaxUploadsPerHour {
		wait := time.UnixMilli(u.Oldest).Add(quotaWindow).Sub(now)
		return u, retryAfter(max(wait, time.Second), "at most %d uploads an hour; try again in %d s", h.MaxUploadsPerHour, int64(wait.Seconds()))
	}
	return u, h.checkStored(u, max(declared, 1)) // an upload is at least a byte
}

// checkStored returns ETooLarge if size more bytes would take the user
// with usage u past MaxUserBytes.
func (h *handler) checkStored(u chat.MediaUsage, size int64) error {
	if h.MaxUserBytes < 0 || u.Bytes+size <= h.MaxUserBytes {
		return nil
	}
	return chat.Errorf(chat.ETooLarge, "your uploads take %d of the %d bytes you may store", u.Bytes, h.MaxUserBytes)
}
