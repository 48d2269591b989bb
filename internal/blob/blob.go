// Package blob stores media bytes under opaque keys: Put, Get, Delete and no
// more. Two backends implement Store: Disk (files under a directory, the
// default of the single binary) and S3 (any S3-compatible object store, for
// a cluster whose nodes must all see every upload). One conformance suite,
// blobtest, runs against both.
package blob

import (
	"context"
	"io"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Store is a flat key -> bytes store. Keys are made by the caller of
// [A-Za-z0-9._-] and '/' (see ValidKey). Implementations are safe for
// concurrent use.
type Store interface {
	// Put stores the bytes of r under key, streaming them (a backend never
	// holds a whole object in memory), and returns how many it stored. The
	// object appears whole or not at all: if r fails (a client that went
	// away), Put returns that error and stores nothing. Putting an existing
	// key replaces it.
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	// Get opens the object at key for reading and seeking (so an HTTP
	// server can answer Range requests) and returns its size. ENotFound if
	// there is no such key. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ValidKey reports whether key is usable by every backend: 1-512 bytes of
// [A-Za-z0-9._-] in '/'-separated parts, none empty, "." or "..".
func ValidKey(key string) bool {
	if key == "" || len(key) > 512 {
		return false
	}
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for _, c := range part {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			default:
				return false
			}
		}
	}
	return true
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return chat.Errorf(chat.EBadRequest, "invalid blob key %q", key)
	}
	return nil
}
