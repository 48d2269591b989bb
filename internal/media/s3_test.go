package media_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob/blobtest"
	"github.com/switchboard-chat/switchboard/internal/media"
)

// TestOnS3 runs an upload, a ranged fetch and a thumbnail through the S3
// backend on a real S3-compatible server, as a cluster would.
func TestOnS3(t *testing.T) {
	endpoint := blobtest.StartS3(t)
	e := newEnv(t, func(d *media.Deps) { d.Blobs = blobtest.OpenS3(t, endpoint) })
	img := jpegWithExif(t, 640, 480, 1)
	m := e.mustUpload(t, "image/jpeg", img)
	resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice")
	if resp.StatusCode != http.StatusOK || int64(len(body)) != m.Size || sha(body) != m.SHA256 {
		t.Fatalf("GET: status %d, %d bytes (want %d with sha256 %s)", resp.StatusCode, len(body), m.Size, m.SHA256)
	}
	if bytes.Contains(body, []byte(secretMarker)) {
		t.Errorf("Exif served from S3")
	}
	resp, part := e.get(t, m.URL, "", "Range", "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[100:200]) {
		t.Errorf("Range over S3: status %d, %d bytes", resp.StatusCode, len(part))
	}
	thumb, _, _ := e.decodeServed(t, "/v1/media/"+m.ID+"?thumb=1")
	if b := thumb.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("thumbnail %v, want 320x240", b)
	}
	status, _, code := e.post(t, "tok-alice", "image/png", bytes.NewReader([]byte("#!/bin/sh\n")))
	if status != http.StatusBadRequest {
		t.Errorf("type lie on S3: %d %q", status, code)
	}
}
