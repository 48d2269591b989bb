package media

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// decoders are the image decoders, called explicitly (no registration by
// import side effect): the sniffed type picks one.
var decoders = map[string]struct {
	decode func(io.Reader) (image.Image, error)
	config func(io.Reader) (image.Config, error)
}{
	"image/png":  {png.Decode, png.DecodeConfig},
	"image/jpeg": {jpeg.Decode, jpeg.DecodeConfig},
	"image/gif":  {gif.Decode, gif.DecodeConfig},
	"image/webp": {webp.Decode, webp.DecodeConfig},
}

// picture is a decoded upload's description and its thumbnail.
type picture struct {
	width, height int    // as displayed (orientation applied)
	thumb         []byte // encoded thumbnail
	thumbType     string
}

// limits are what makePicture checks an image against.
type limits struct {
	pixels int64 // pixels per image
	budget int64 // bytes to decode and thumbnail it (decodeCost)
	thumb  int   // the thumbnail's box, pixels
}

// makePicture decodes an image of type ct from r (after checking from its
// header that its pixel count and decoding cost are within lim, so a
// small file cannot claim a huge canvas), and makes a thumbnail that fits
// in a box of lim.thumb pixels, orientation applied. Bytes that do not
// decode as ct are EBadRequest; an image over lim is ETooLarge.
func makePicture(r io.ReadSeeker, ct string, orientation int, lim limits) (picture, error) {
	size := lim.thumb
	dec := decoders[ct]
	cfg, err := dec.config(r)
	if err != nil {
		return picture{}, chat.Errorf(chat.EBadRequest, "not a valid %s image: %v", ct, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return picture{}, chat.Errorf(chat.EBadRequest, "the image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.pixels {
		return picture{}, chat.Errorf(chat.ETooLarge, "the image is %dx%d; at most %d pixels are accepted", cfg.Width, cfg.Height, lim.pixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return picture{}, err
	}
	if err := checkBudget(r, ct, cfg, size, lim.budget); err != nil {
		return picture{}, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return picture{}, err
	}
	img, err := dec.decode(r)
	if err != nil {
		return picture{}, chat.Errorf(chat.EBadRequest, "not a valid %s image: %v", ct, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if orientation >= 5 { // rotated a quarter turn
		w, h = h, w
	}
	tw, th := fit(w, h, size)
	if orientation >= 5 {
		tw, th = th, tw // scale before turning
	}
	scaled := image.NewRGBA(image.Rect(0, 0, tw, th))
	if tw == b.Dx() && th == b.Dy() {
		// Small enough already: a copy, sparing the scaler's working
		// memory (32 bytes per thumbnail column and source row).
		draw.Draw(scaled, scaled.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.BiLinear.Scale(scaled, scaled.Bounds(), img, b, draw.Src, nil)
	}
	thumb := orient(scaled, orientation)

	var buf bytes.Buffer
	p := picture{width: w, height: h}
	if ct == "image/jpeg" {
		p.thumbType = "image/jpeg"
		err = jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: 82})
	} else {
		p.thumbType = "image/png"
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, thumb)
	}
	if err != nil {
		return picture{}, err
	}
	p.thumb = buf.Bytes()
	return p, nil
}

// fit scales w x h down (never up) to fit in a size x size box.
func fit(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, h*size/w)
	}
	return max(1, w*size/h), size
}

// orient applies an Exif orientation (1-8) to img.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // turned a quarter clockwise to view
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // turned a quarter anticlockwise to view
				dx, dy = y, w-1-x
			}
			out.SetRGBA(dx, dy, img.RGBAAt(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}
