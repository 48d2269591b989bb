package media

import "bytes"

// The fuzz targets (in the external test package) reach the unexported
// parsers here.
var (
	StripJPEG = stripJPEG
	StripPNG  = stripPNG
	StripGIF  = stripGIF
	StripWebP = stripWebP
)

// Detect returns the Content-Type detect decides for head, or its error.
func Detect(head []byte, declared string) (string, error) {
	k, err := detect(head, declared)
	return k.contentType, err
}

// Allowed reports whether ct is on the allow-list.
func Allowed(ct string) bool {
	_, ok := kindOf(ct)
	return ok
}

// DecodeCost is decodeCost of an image file of type ct, with thumbnails
// of thumb pixels.
func DecodeCost(file []byte, ct string, thumb int) (int64, error) {
	cfg, err := decoders[ct].config(bytes.NewReader(file))
	if err != nil {
		return 0, err
	}
	return decodeCost(bytes.NewReader(file), ct, cfg, thumb)
}

// MakePicture decodes and thumbnails an image file of type ct with no
// limits but the thumbnail's size, returning its width and height.
func MakePicture(file []byte, ct string, thumb int) (int, int, error) {
	p, err := makePicture(bytes.NewReader(file), ct, 1, limits{pixels: 1 << 62, budget: 1 << 62, thumb: thumb})
	return p.width, p.height, err
}
