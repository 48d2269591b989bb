package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
)

// TestMediaMessage uploads an image, sends it in a DM and checks who may
// fetch it, through the whole server.
func TestMediaMessage(t *testing.T) {
	s := startServer(t)
	pia, rob, sid := user(t, s, "pia"), user(t, s, "rob"), user(t, s, "sid")
	rc := dial(t, rob, "web")
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for x := 0; x < 640; x++ {
		img.Set(x, x%480, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	up, err := pia.UploadMedia(ctxT(t), "image/png", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if up.ID == "" || up.ContentType != "image/png" || up.Width != 640 || up.Height != 480 {
		t.Fatalf("upload = %+v", up)
	}
	// Only the uploader may attach it.
	_, err = dial(t, sid, "web").Send(ctxT(t), client.SendRequest{ToUser: "rob", MediaID: up.ID})
	wantCode(t, err, "forbidden")
	m, err := dial(t, pia, "web").Send(ctxT(t), client.SendRequest{ToUser: "rob", Text: "look", MediaID: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := nextMessage(t, rc)
	if got.ID != m.ID || got.Media == nil || got.Media.ID != up.ID || got.Media.Width != 640 || got.Media.Size != up.Size {
		t.Fatalf("pushed message = %+v (media %+v)", got, got.Media)
	}
	// The recipient may fetch it; a stranger may not.
	resp, err := rob.OpenMedia(ctxT(t), up.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(body)) != up.Size {
		t.Fatalf("fetch: status %d, %d bytes; want 200, %d", resp.StatusCode, len(body), up.Size)
	}
	if _, err := sid.OpenMedia(ctxT(t), up.ID); client.ErrorCode(err) != "forbidden" && client.ErrorCode(err) != "not_found" {
		t.Fatalf("stranger fetch: %v; want forbidden or not_found", err)
	}
}

// TestDeleteFreesMedia: deleting the last message that carries an upload
// deletes its bytes: nobody can fetch it, and its files are gone from disk.
func TestDeleteFreesMedia(t *testing.T) {
	s := startServer(t)
	pia, rob := user(t, s, "pia"), user(t, s, "rob")
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	up, err := pia.UploadMedia(ctxT(t), "image/png", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	pc := dial(t, pia, "web")
	m, err := pc.Send(ctxT(t), client.SendRequest{ToUser: "rob", Text: "pic", MediaID: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	files := func() int {
		n := 0
		filepath.WalkDir(s.Data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(filepath.Base(p), up.ID) {
				n++
			}
			return nil
		})
		return n
	}
	if files() == 0 {
		t.Fatalf("no file of upload %s under %s", up.ID, s.Data)
	}
	d, err := pc.Delete(ctxT(t), m.ID)
	if err != nil || !d.Deleted || d.Media != nil {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	for _, c := range []*client.Client{pia, rob} {
		if _, err := c.OpenMedia(ctxT(t), up.ID); client.ErrorCode(err) != "not_found" && client.ErrorCode(err) != "forbidden" {
			t.Errorf("fetch after delete: %v; want not_found or forbidden", err)
		}
	}
	if n := files(); n != 0 {
		t.Errorf("%d files of upload %s left on disk", n, up.ID)
	}
	// The upload record is gone too: it cannot be attached again.
	_, err = pc.Send(ctxT(t), client.SendRequest{ToUser: "rob", MediaID: up.ID})
	wantCode(t, err, "not_found")
}
