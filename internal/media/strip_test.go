package media_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"testing"

	"golang.org/x/image/webp"
)

// riffFile wraps chunks in a WebP RIFF header.
func riffFile(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// vp8xChunk is a VP8X chunk with the given flags for a w x h canvas.
func vp8xChunk(flags byte, w, h int) []byte {
	p := []byte{flags, 0, 0, 0}
	p = append(p, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riffChunk("VP8X", p)
}

func exifChunk() []byte { return riffChunk("EXIF", []byte("II*\x00"+secretMarker)) }
func xmpChunk() []byte  { return riffChunk("XMP ", []byte("<x:xmpmeta>"+secretMarker+"</x:xmpmeta>")) }

// gifSubBlocks splits b into GIF data sub-blocks and ends them.
func gifSubBlocks(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(len(b), 255)
		out = append(out, byte(n))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return append(out, 0)
}

// gifWithMeta is a looping two-frame GIF carrying the secret in a comment,
// an XMP application extension and an unknown application extension.
func gifWithMeta(tb testing.TB) []byte {
	tb.Helper()
	pal := color.Palette{color.Black, color.White, color.RGBA{200, 0, 0, 255}}
	var frames []*image.Paletted
	for i := range 2 {
		f := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
		for j := range f.Pix {
			f.Pix[j] = uint8((j + i) % 3)
		}
		frames = append(frames, f)
	}
	var enc bytes.Buffer
	if err := gif.EncodeAll(&enc, &gif.GIF{Image: frames, Delay: []int{10, 10}, LoopCount: 0}); err != nil {
		tb.Fatal(err)
	}
	src := enc.Bytes()
	at := 13
	if src[10]&0x80 != 0 {
		at += 3 << (src[10]&7 + 1)
	}
	var meta []byte
	meta = append(meta, 0x21, 0xFE)
	meta = append(meta, gifSubBlocks([]byte("comment "+secretMarker))...)
	meta = append(meta, 0x21, 0xFF, 11)
	meta = append(meta, "XMP DataXMP"...)
	meta = append(meta, gifSubBlocks([]byte("<x:xmpmeta>"+secretMarker+"</x:xmpmeta>"))...)
	meta = append(meta, 0x21, 0xFF, 11)
	meta = append(meta, "SECRETAPP10"...)
	meta = append(meta, gifSubBlocks([]byte(secretMarker))...)
	out := append([]byte{}, src[:at]...)
	out = append(out, meta...)
	out = append(out, src[at:len(src)-1]...)
	out = append(out, 0x21, 0xFE) // a comment after the last frame too
	out = append(out, gifSubBlocks([]byte(secretMarker))...)
	out = append(out, 0x3B)
	if g, err := gif.DecodeAll(bytes.NewReader(out)); err != nil || len(g.Image) != 2 {
		tb.Fatalf("test GIF does not decode: %v", err)
	}
	return out
}

// jpegWithAppSegments is a JPEG carrying the secret in every application
// segment APP0 to APP15 (besides the kept JFIF, ICC and Adobe headers) and
// in a comment.
func jpegWithAppSegments(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, nil); err != nil {
		tb.Fatal(err)
	}
	seg := func(marker byte, payload string) []byte {
		out := []byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
		return append(out, payload...)
	}
	out := []byte{0xFF, 0xD8}
	out = append(out, seg(0xE0, "JFXX\x00\x10"+secretMarker)...)
	out = append(out, seg(0xE1, "http://ns.adobe.com/xap/1.0/\x00"+secretMarker)...)
	out = append(out, seg(0xE2, "FPXR\x00"+secretMarker)...)
	for m := byte(0xE3); m <= 0xEF; m++ {
		payload := secretMarker
		if m == 0xEE {
			payload = "Adobe\x00\x64\x00\x00\x00\x00\x01" + secretMarker
		}
		out = append(out, seg(m, payload)...)
	}
	out = append(out, seg(0xFE, secretMarker)...)
	out = append(out, enc.Bytes()[2:]...)
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		tb.Fatalf("test JPEG does not decode: %v", err)
	}
	return out
}

// TestMetadataStripped uploads images carrying metadata in each place the
// formats allow it and checks that none of it is served, that the picture
// still decodes, and that a GIF still loops.
func TestMetadataStripped(t *testing.T) {
	cases := []struct {
		name, ct string
		file     []byte
	}{
		{"WebP simple lossless with EXIF and XMP", "image/webp", riffFile(riffChunk("VP8L", solidVP8L(40, 30, 1, 2, 3)), exifChunk(), xmpChunk())},
		{"WebP VP8X with flags cleared", "image/webp", riffFile(vp8xChunk(0, 40, 30), exifChunk(), riffChunk("VP8L", solidVP8L(40, 30, 1, 2, 3)), xmpChunk())},
		{"WebP VP8X with an unknown chunk", "image/webp", riffFile(vp8xChunk(0, 40, 30), riffChunk("VP8L", solidVP8L(40, 30, 1, 2, 3)), riffChunk("ZZZZ", []byte(secretMarker)))},
		{"GIF comment, XMP and application extensions", "image/gif", gifWithMeta(t)},
		{"JPEG APP0-APP15 and COM", "image/jpeg", jpegWithAppSegments(t)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(c.file, []byte(secretMarker)) {
				t.Fatal("test file lacks its secret")
			}
			e := newEnv(t, nil)
			m := e.mustUpload(t, c.ct, c.file)
			resp, body := e.get(t, "/v1/media/"+m.ID, "tok-alice")
			if resp.StatusCode != 200 {
				t.Fatalf("GET: %d", resp.StatusCode)
			}
			if bytes.Contains(body, []byte(secretMarker)) {
				t.Errorf("the served file still carries the secret")
			}
			if m.Size != int64(len(body)) || m.SHA256 != sha(body) {
				t.Errorf("size/sha256 = %d/%s, want those of the served bytes %d/%s", m.Size, m.SHA256, len(body), sha(body))
			}
			var err error
			switch c.ct {
			case "image/webp":
				_, err = webp.Decode(bytes.NewReader(body))
				if got := binary.LittleEndian.Uint32(body[4:8]); int(got) != len(body)-8 {
					t.Errorf("RIFF length %d, want %d", got, len(body)-8)
				}
			case "image/jpeg":
				_, err = jpeg.Decode(bytes.NewReader(body))
				if !bytes.Contains(body, []byte("Adobe")) {
					t.Errorf("the Adobe colour transform header went (it changes how colours decode)")
				}
			case "image/gif":
				var g *gif.GIF
				if g, err = gif.DecodeAll(bytes.NewReader(body)); err == nil && (len(g.Image) != 2 || g.LoopCount != 0) {
					t.Errorf("served GIF: %d frames, loop count %d; want 2 frames looping forever", len(g.Image), g.LoopCount)
				}
			}
			if err != nil {
				t.Errorf("the served file does not decode: %v", err)
			}
		})
	}
}
