package media_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"

	"golang.org/x/image/webp"
)

// bitWriter writes a VP8L bitstream: least significant bit first.
type bitWriter struct {
	buf   []byte
	nbits uint
}

func (b *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if b.nbits%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if v>>i&1 == 1 {
			b.buf[len(b.buf)-1] |= 1 << (b.nbits % 8)
		}
		b.nbits++
	}
}

// solidVP8L is a lossless w x h bitstream of one colour: every prefix code
// has a single symbol, so each pixel takes no bits at all.
func solidVP8L(w, h int, r, g, b uint8) []byte {
	bw := &bitWriter{buf: []byte{0x2f}, nbits: 8}
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1)                              // no alpha
	bw.write(0, 3)                              // version
	bw.write(0, 1)                              // no transform
	bw.write(0, 1)                              // no colour cache
	bw.write(0, 1)                              // no meta prefix codes
	for _, sym := range []uint8{g, r, b, 255} { // green, red, blue, alpha
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(sym), 8)
	}
	bw.write(1, 1) // distance: simple code
	bw.write(0, 1) // one symbol
	bw.write(0, 1) // of 1 bit
	bw.write(0, 1)
	return bw.buf
}

func riffChunk(fourcc string, payload []byte) []byte {
	out := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	out = append(out, payload...)
	if len(payload)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// webpWithMeta is an extended-format WebP whose EXIF and XMP chunks carry
// the secret marker.
func webpWithMeta(tb testing.TB, w, h int) []byte {
	tb.Helper()
	vp8x := []byte{0x08 | 0x04, 0, 0, 0}
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	var body []byte
	body = append(body, "WEBP"...)
	body = append(body, riffChunk("VP8X", vp8x)...)
	body = append(body, riffChunk("EXIF", []byte("II*\x00"+secretMarker))...)
	body = append(body, riffChunk("VP8L", solidVP8L(w, h, 200, 100, 50))...)
	body = append(body, riffChunk("XMP ", []byte("<x:xmpmeta>"+secretMarker+"</x:xmpmeta>"))...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if _, err := webp.Decode(bytes.NewReader(out)); err != nil {
		tb.Fatalf("test WebP does not decode: %v", err)
	}
	return out
}

func TestWebPMetadataStripped(t *testing.T) {
	e := newEnv(t, nil)
	src := webpWithMeta(t, 500, 250)
	m := e.mustUpload(t, "image/webp", src)
	if m.Width != 500 || m.Height != 250 {
		t.Errorf("reported %dx%d, want 500x250", m.Width, m.Height)
	}
	resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice")
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if bytes.Contains(body, []byte(secretMarker)) {
		t.Errorf("the served WebP still carries its metadata")
	}
	if m.Size != int64(len(body)) || m.SHA256 != sha(body) {
		t.Errorf("size/sha256 = %d/%s, want those of the served bytes %d/%s", m.Size, m.SHA256, len(body), sha(body))
	}
	if got := binary.LittleEndian.Uint32(body[4:8]); int(got) != len(body)-8 {
		t.Errorf("RIFF length %d, want %d", got, len(body)-8)
	}
	img, err := webp.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the served WebP does not decode: %v", err)
	}
	if img.Bounds() != image.Rect(0, 0, 500, 250) {
		t.Errorf("served WebP is %v", img.Bounds())
	}
	if body[20]&0x0C != 0 {
		t.Errorf("VP8X still announces metadata: flags %#x", body[20])
	}
	thumb, _, _ := e.decodeServed(t, "/v1/media/"+m.ID+"?thumb=1")
	if b := thumb.Bounds(); b.Dx() != 320 || b.Dy() != 160 {
		t.Errorf("thumbnail %v, want 320x160", b)
	}
	if files := e.blobFiles(t); len(files) != 2 {
		t.Errorf("blob files %v, want the original and its thumbnail", files)
	}
}
