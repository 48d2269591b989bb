package media_test

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"golang.org/x/image/webp"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/media"
)

// stripSlack is how much a stripper may add: the minimal Exif segment
// that keeps a JPEG's orientation (36 bytes) and nothing else.
const stripSlack = 64

// checkStrip runs strip on in and checks what every stripper promises on
// any input: no panic (the fuzzer's own check), an output no larger than
// the input plus stripSlack, stripping its own output changes nothing,
// and an input whose header decodes gives an output whose header decodes
// to the same size.
func checkStrip(t *testing.T, in []byte, strip func([]byte) ([]byte, error), config func(io.Reader) (image.Config, error)) {
	out, err := strip(in)
	if err != nil {
		return // refused: the upload is a 400
	}
	if len(out) > len(in)+stripSlack {
		t.Fatalf("output %d bytes from an input of %d", len(out), len(in))
	}
	again, err := strip(out)
	if err != nil {
		t.Fatalf("stripping the output fails: %v", err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("stripping twice differs from stripping once:\n once %x\ntwice %x", out, again)
	}
	if want, err := config(bytes.NewReader(in)); err == nil {
		got, err := config(bytes.NewReader(out))
		if err != nil || got.Width != want.Width || got.Height != want.Height {
			t.Fatalf("the header decodes to %dx%d before stripping, to %dx%d (%v) after", want.Width, want.Height, got.Width, got.Height, err)
		}
	}
}

// streaming adapts a streaming stripper to bytes in, bytes out.
func streaming(strip func(io.Writer, io.Reader) error) func([]byte) ([]byte, error) {
	return func(in []byte) ([]byte, error) {
		var out bytes.Buffer
		err := strip(&out, bytes.NewReader(in))
		return out.Bytes(), err
	}
}

func FuzzStripJPEG(f *testing.F) {
	f.Add(jpegWithExif(f, 16, 12, 6))
	f.Add(jpegWithAppSegments(f))
	f.Add(jpegBomb(7000, 7000))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	strip := func(in []byte) ([]byte, error) {
		var out bytes.Buffer
		_, err := media.StripJPEG(&out, bytes.NewReader(in))
		return out.Bytes(), err
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkStrip(t, in, strip, jpeg.DecodeConfig) })
}

func FuzzStripPNG(f *testing.F) {
	p := pngImage(f, 6, 4)
	f.Add(p)
	text := pngChunk("tEXt", []byte("Comment\x00"+secretMarker))
	f.Add(append(append(append([]byte{}, p[:33]...), text...), p[33:]...))
	f.Add(pngBomb(f, 7000, 7000))
	f.Fuzz(func(t *testing.T, in []byte) { checkStrip(t, in, streaming(media.StripPNG), png.DecodeConfig) })
}

func FuzzStripGIF(f *testing.F) {
	f.Add(gifWithMeta(f))
	var one bytes.Buffer
	gif.Encode(&one, image.NewGray(image.Rect(0, 0, 3, 2)), nil)
	f.Add(one.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) { checkStrip(t, in, streaming(media.StripGIF), gif.DecodeConfig) })
}

func FuzzStripWebP(f *testing.F) {
	f.Add(webpWithMeta(f, 8, 6))
	f.Add(webpVP8L(9, 7))
	f.Add(riffFile(riffChunk("VP8L", solidVP8L(4, 3, 1, 2, 3)), exifChunk(), xmpChunk()))
	f.Add(riffFile(vp8xChunk(0, 4, 3), exifChunk(), riffChunk("VP8L", solidVP8L(4, 3, 1, 2, 3))))
	f.Add(riffFile(vp8xChunk(0x10, 4, 3), riffChunk("ALPH", []byte{0, 1, 2}), riffChunk("VP8 ", []byte("short"))))
	strip := func(in []byte) ([]byte, error) {
		var out bytes.Buffer
		err := media.StripWebP(&out, bytes.NewReader(in))
		return out.Bytes(), err
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkStrip(t, in, strip, webp.DecodeConfig) })
}

// FuzzDetect: detection never panics, only ever accepts an allowed type,
// refuses with a bad_request, and the declared type can refuse bytes but
// never change what they are taken for.
func FuzzDetect(f *testing.F) {
	for _, seed := range []struct {
		head     []byte
		declared string
	}{
		{pngImage(f, 2, 2), "image/png"},
		{jpegBomb(10, 10), "image/jpg"},
		{webpVP8L(3, 3), ""},
		{[]byte("hello, world"), "text/markdown"},
		{[]byte("<html><script>alert(1)</script>"), "image/png"},
		{[]byte{0xFF, 0xFB, 0x90, 0x00}, "audio/mp3"},
		{[]byte("OggS\x00\x02" + string(make([]byte, 22)) + "OpusHead"), "application/octet-stream"},
		{[]byte("%PDF-1.7"), "application/pdf; charset=x"},
		{[]byte{}, ""},
		{[]byte("GIF89a"), "image/gif;;"},
	} {
		f.Add(seed.head, seed.declared)
	}
	f.Fuzz(func(t *testing.T, head []byte, declared string) {
		ct, err := media.Detect(head, declared)
		if err != nil {
			if code := chat.ErrorCode(err); code != chat.EBadRequest {
				t.Fatalf("refused with code %q (%v), want %q", code, err, chat.EBadRequest)
			}
			return
		}
		if !media.Allowed(ct) {
			t.Fatalf("accepted %q, which is not on the allow-list", ct)
		}
		if plain, err := media.Detect(head, ""); err != nil || plain != ct {
			t.Fatalf("declared %q gives %q; no declaration gives %q, %v", declared, ct, plain, err)
		}
	})
}
