package media

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
