package media_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/media"
)

// pngChunk returns a PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngBomb is a small PNG whose header claims a w x h canvas of 16-bit
// RGBA (8 bytes a pixel once decoded); its data holds one row, so it costs
// nothing to make however large it claims to be.
func pngBomb(tb testing.TB, w, h int) []byte {
	tb.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // 16 bits, RGBA, deflate, no filter, not interlaced
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1+8*w))
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	out = append(out, pngChunk("IEND", nil)...)
	cfg, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil || cfg.Width != w || cfg.Height != h {
		tb.Fatalf("test PNG header: %+v, %v", cfg, err)
	}
	return out
}

// jpegBomb is a progressive colour JPEG claiming w x h (and no data): a
// decoder keeps every coefficient of such a picture besides its pixels.
func jpegBomb(w, h int) []byte {
	out := []byte{0xFF, 0xD8}
	out = append(out, 0xFF, 0xE0, 0, 16)
	out = append(out, "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"...)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	out = append(out, 0xFF, 0xC2, 0, byte(len(sof)+2))
	out = append(out, sof...)
	out = append(out, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0) // a scan of the first component
	return append(out, 0x00, 0xFF, 0xD9)
}

// png16 is a valid w x h 16-bit RGBA PNG.
func png16(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// webpVP8L is a valid simple-format lossless w x h WebP.
func webpVP8L(w, h int) []byte {
	body := append([]byte("WEBP"), riffChunk("VP8L", solidVP8L(w, h, 10, 20, 30))...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// TestDecodeBudget: images whose decoding would take more memory than the
// budget are refused from their header, before any decoding, and leave
// nothing stored; images within it are accepted.
func TestDecodeBudget(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 300, 300))
	var grayPNG bytes.Buffer
	png.Encode(&grayPNG, gray)
	cases := []struct {
		name   string
		budget int64 // 0: the default
		ct     string
		file   []byte
		want   int
	}{
		{"16-bit PNG 7000x7000", 0, "image/png", pngBomb(t, 7000, 7000), 413},
		{"lossless WebP 7000x7000", 0, "image/webp", webpVP8L(7000, 7000), 413},
		{"progressive JPEG 7000x7000", 0, "image/jpeg", jpegBomb(7000, 7000), 413},
		{"16-bit PNG 300x200", 0, "image/png", png16(t, 300, 200), 201},
		{"lossless WebP 640x480", 0, "image/webp", webpVP8L(640, 480), 201},
		{"JPEG 800x600", 0, "image/jpeg", jpegWithExif(t, 800, 600, 1), 201},
		{"16-bit PNG 600x600, 4 MiB budget", 4 << 20, "image/png", png16(t, 600, 600), 413},
		{"gray PNG 300x300, 4 MiB budget", 4 << 20, "image/png", grayPNG.Bytes(), 201},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(d *media.Deps) { d.DecodeBudget = c.budget })
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			status, m, code := e.post(t, "tok-alice", c.ct, bytes.NewReader(c.file))
			runtime.ReadMemStats(&after)
			if status != c.want {
				t.Fatalf("status %d code %q, want %d", status, code, c.want)
			}
			if status != 201 {
				if code != chat.ETooLarge {
					t.Errorf("code %q, want %q", code, chat.ETooLarge)
				}
				if files := e.blobFiles(t); len(files) != 0 {
					t.Errorf("a refused image left %v", files)
				}
				// The whole request, client and server, allocates far less
				// than decoding the picture would (hundreds of MB).
				if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
					t.Errorf("refusing the image allocated %d MB", got>>20)
				}
				return
			}
			if m.Width == 0 || m.Height == 0 {
				t.Errorf("an accepted image has no dimensions: %+v", m)
			}
		})
	}
}

// gatedBlobs holds the first read of an original until released, keeping
// the decode slot of that upload busy.
type gatedBlobs struct {
	blob.Store
	held    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedBlobs) Get(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if strings.HasPrefix(key, "o/") && g.held.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
	}
	return g.Store.Get(ctx, key)
}

// postWithHeaders uploads body as token and returns the response's status,
// error code and Retry-After header.
func (e *env) postWithHeaders(tb testing.TB, token, contentType string, body []byte) (int, string, string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/media", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	code := ""
	if resp.StatusCode != 201 {
		code = errCode(tb, raw)
	}
	return resp.StatusCode, code, resp.Header.Get("Retry-After")
}

// TestDecodeSlotsFair: a user whose decode is under way cannot take a
// second slot (rate_limited, with Retry-After) while another user still
// gets one.
func TestDecodeSlotsFair(t *testing.T) {
	gate := &gatedBlobs{entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(d *media.Deps) {
		gate.Store = d.Blobs
		d.Blobs = gate
		d.MaxDecodes = 2
		d.MaxDecodesPerUser = 1
	})
	img := pngImage(t, 40, 30)
	var wg sync.WaitGroup
	var first int
	wg.Add(1)
	go func() {
		defer wg.Done()
		first, _, _ = e.postWithHeaders(t, "tok-alice", "image/png", img)
	}()
	<-gate.entered // alice's first upload holds a slot
	status, code, retry := e.postWithHeaders(t, "tok-alice", "image/png", img)
	if status != 429 || code != chat.ERateLimited || retry == "" {
		t.Errorf("alice's second decode: %d %q Retry-After %q, want 429 rate_limited with Retry-After", status, code, retry)
	}
	if status, code, _ := e.postWithHeaders(t, "tok-bob", "image/png", img); status != 201 {
		t.Errorf("bob's decode while alice holds her share: %d %q, want 201", status, code)
	}
	close(gate.release)
	wg.Wait()
	if first != 201 {
		t.Errorf("alice's first upload: %d, want 201", first)
	}
	if status, code, _ := e.postWithHeaders(t, "tok-alice", "image/png", img); status != 201 {
		t.Errorf("alice once her decode is done: %d %q, want 201", status, code)
	}
}

// TestDecodeCostCoversDecoding: for each format and colour model the
// header estimate is at least what decoding and thumbnailing allocate
// (measured), and not wildly more.
func TestDecodeCostCoversDecoding(t *testing.T) {
	const w, h = 640, 400
	encodePNG := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	rect := image.Rect(0, 0, w, h)
	nrgba := image.NewNRGBA(rect)
	nrgba64 := image.NewNRGBA64(rect)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = byte(i * 7)
	}
	for i := range nrgba64.Pix {
		nrgba64.Pix[i] = byte(i * 7)
	}
	pal := image.NewPaletted(rect, color.Palette{color.Black, color.White})
	var gifFile, jpegGray bytes.Buffer
	gif.Encode(&gifFile, pal, nil)
	jpeg.Encode(&jpegGray, image.NewGray(rect), nil)
	cases := []struct {
		name, ct string
		file     []byte
	}{
		{"PNG gray", "image/png", encodePNG(image.NewGray(rect))},
		{"PNG gray16", "image/png", encodePNG(image.NewGray16(rect))},
		{"PNG palette", "image/png", encodePNG(pal)},
		{"PNG NRGBA", "image/png", encodePNG(nrgba)},
		{"PNG NRGBA64", "image/png", encodePNG(nrgba64)},
		{"PNG NRGBA small", "image/png", encodePNG(nrgba.SubImage(image.Rect(0, 0, 200, 150)))},
		{"JPEG 4:2:0", "image/jpeg", jpegWithExif(t, w, h, 1)},
		{"JPEG gray", "image/jpeg", jpegGray.Bytes()},
		{"GIF", "image/gif", gifFile.Bytes()},
		{"WebP lossless", "image/webp", webpVP8L(w, h)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cost, err := media.DecodeCost(c.file, c.ct, 320)
			if err != nil {
				t.Fatalf("DecodeCost: %v", err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if _, _, err := media.MakePicture(c.file, c.ct, 320); err != nil {
				t.Fatalf("MakePicture: %v", err)
			}
			runtime.ReadMemStats(&after)
			used := int64(after.TotalAlloc - before.TotalAlloc)
			if cost < used || cost > 3*used+1<<20 {
				t.Errorf("estimated %d bytes; decoding took %d", cost, used)
			}
		})
	}
}
