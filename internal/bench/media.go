package bench

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
)

// noisePNG returns a PNG of random pixels of about size bytes: noise does
// not compress, so the file is about four bytes a pixel, like a photo that
// was already compressed (seed 003: media are compressed before upload).
func noisePNG(size int) ([]byte, error) {
	side := max(1, int(math.Sqrt(float64(size)/4)))
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
