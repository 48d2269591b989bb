package media

import (
	"bufio"
	"encoding/binary"
	"image"
	"image/color"
	"io"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// A decoded image takes memory by its pixels, not its file: a 32-byte
// lossless WebP may claim 7000x7000 pixels, 196 MB once decoded. Before an
// upload is decoded, decodeCost estimates from its header what decoding
// and thumbnailing it will allocate, and checkBudget refuses it if that
// is over the budget. The figures are those of the decoders used here
// (image/png, image/jpeg, image/gif, golang.org/x/image/webp) and of the
// thumbnail's scaler, measured.

// checkBudget returns ETooLarge if an image of type ct and header cfg
// (read from r, at its start) would take more than budget bytes to decode
// and thumbnail, and nil otherwise.
func checkBudget(r io.ReadSeeker, ct string, cfg image.Config, thumbSize int, budget int64) error {
	need, err := decodeCost(r, ct, cfg, thumbSize)
	if err != nil {
		return err
	}
	if need > budget {
		return chat.Errorf(chat.ETooLarge, "the image is %dx%d; decoding it would take %d MiB, over the %d MiB allowed",
			cfg.Width, cfg.Height, need>>20, budget>>20)
	}
	return nil
}

// decodeCost estimates the bytes decoding an image of type ct and header
// cfg and making its thumbnail (at most thumbSize pixels a side) take. It
// reads what the header config leaves out (interlacing, JPEG sampling)
// from r, which it leaves at an unspecified position.
func decodeCost(r io.ReadSeeker, ct string, cfg image.Config, thumbSize int) (int64, error) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	// Bytes per pixel in tenths, so that 4:2:0 (1.5) stays exact.
	var tenths int64
	switch ct {
	case "image/png":
		tenths = 10 * modelBytes(cfg.ColorModel)
		interlaced, err := pngInterlaced(r)
		if err != nil {
			return 0, err
		}
		if interlaced { // each pass is decoded apart, then merged
			tenths *= 2
		}
	case "image/jpeg":
		l, err := readJPEGLayout(r)
		if err != nil {
			return 0, err
		}
		tenths = l.sampleTenths
		if l.progressive { // every coefficient is kept, 4 bytes each
			tenths *= 5
		}
		switch cfg.ColorModel {
		case color.RGBAModel, color.CMYKModel: // converted after decoding
			tenths += 40
		}
		// Planes are padded to whole 16x16 blocks.
		w, h = (w+15)&^15, (h+15)&^15
	case "image/gif":
		tenths = 10 // the first frame, one byte a pixel
	case "image/webp":
		switch cfg.ColorModel {
		case color.YCbCrModel: // lossy, 4:2:0
			tenths = 15
		case color.NYCbCrAModel: // lossy with an alpha plane, itself decoded as lossless RGBA
			tenths = 65
		default: // lossless: RGBA, and transforms may copy it once
			tenths = 80
		}
		w, h = (w+15)&^15, (h+15)&^15
	default:
		tenths = 10 * modelBytes(cfg.ColorModel)
	}
	need := w * h * tenths / 10
	// The thumbnail: a scaler that shrinks takes 32 bytes per (thumbnail
	// column x source row); then the thumbnail and its turned copy.
	tw := min(int64(cfg.Width), int64(thumbSize))
	th := min(int64(cfg.Height), int64(thumbSize))
	if int64(cfg.Width) > tw || int64(cfg.Height) > th {
		need += 32 * tw * int64(cfg.Height)
	}
	return need + 2*4*tw*th + decodeOverhead, nil
}

// decodeOverhead is what any decode takes whatever the image's size: the
// decoder's state (a PNG's inflater) and the thumbnail's encoder.
const decodeOverhead = 2 << 20

// modelBytes is the bytes per pixel of an image in color model m.
func modelBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // RGBA64, NRGBA64 and anything unforeseen
}

// pngInterlaced reports whether the PNG in r (at its start) is interlaced:
// the last byte of IHDR, which must come first.
func pngInterlaced(r io.Reader) (bool, error) {
	var head [29]byte // signature, chunk length and type, 13 bytes of IHDR
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return false, chat.Errorf(chat.EBadRequest, "not a valid image/png image: %v", readErr(err))
	}
	return head[28] != 0, nil
}

// jpegLayout is what a JPEG's frame header says about its decoding cost.
type jpegLayout struct {
	sampleTenths int64 // samples per pixel over all components, in tenths
	progressive  bool
}

// readJPEGLayout reads a JPEG (at its start) up to its frame header.
func readJPEGLayout(r io.Reader) (jpegLayout, error) {
	bad := func(what string) (jpegLayout, error) {
		return jpegLayout{}, chat.Errorf(chat.EBadRequest, "not a valid image/jpeg image: %s", what)
	}
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, mSOI} {
		return bad("no start marker")
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return bad("no frame header")
		}
		if b != 0xFF {
			continue
		}
		m, err := br.ReadByte()
		for err == nil && m == 0xFF {
			m, err = br.ReadByte()
		}
		if err != nil {
			return bad("no frame header")
		}
		if m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8) {
			continue // standalone
		}
		var lb [2]byte
		if _, err := io.ReadFull(br, lb[:]); err != nil {
			return bad("truncated")
		}
		n := int(binary.BigEndian.Uint16(lb[:])) - 2
		if n < 0 {
			return bad("bad segment length")
		}
		if m < 0xC0 || m > 0xCF || m == 0xC4 || m == 0xC8 || m == 0xCC { // not a frame header
			if m == mSOS || m == mEOI {
				return bad("no frame header")
			}
			if _, err := br.Discard(n); err != nil {
				return bad("truncated")
			}
			continue
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil || n < 6 {
			return bad("truncated frame header")
		}
		nc := int(p[5])
		if nc == 0 || len(p) < 6+3*nc {
			return bad("bad frame header")
		}
		var hmax, vmax int64 = 1, 1
		for i := range nc {
			f := p[6+3*i+1]
			hmax, vmax = max(hmax, int64(f>>4)), max(vmax, int64(f&15))
		}
		// A component sampled below the highest rate takes fewer samples
		// (rounded up, so the estimate errs high).
		tenths := int64(0)
		for i := range nc {
			f := p[6+3*i+1]
			hv := max(int64(f>>4)*int64(f&15), 1)
			tenths += (10*hv + hmax*vmax - 1) / (hmax * vmax)
		}
		return jpegLayout{sampleTenths: tenths, progressive: m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE}, nil
	}
}
