package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Uploaded photos carry metadata their senders rarely mean to share (GPS
// position, camera serial, thumbnails of the uncropped picture). The
// strippers below copy an image while dropping it, streaming: the image
// data is copied byte for byte (no re-encoding, so no quality loss).

// errMalformed marks a stream a stripper could not parse.
var errMalformed = errors.New("malformed image")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// JPEG markers.
const (
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mAPP0  = 0xE0 // JFIF (kept without its thumbnail), JFXX (dropped)
	mAPP1  = 0xE1 // Exif, XMP
	mAPP2  = 0xE2 // ICC profile (kept), MPF, FlashPix (dropped)
	mAPP14 = 0xEE // Adobe colour transform (kept, reduced to it)
	mAPP15 = 0xEF
	mCOM   = 0xFE
)

// stripJPEG copies a JPEG from src to dst without its application segments
// (APP0-APP15: Exif, XMP, IPTC, MPF, maker data) and comments, and without
// anything after its end marker (where phones append further pictures,
// each with its own Exif). What changes how the picture looks is kept in
// minimal segments of its own: the Exif orientation, the JFIF header
// (without its thumbnail), the ICC profile and the Adobe colour transform.
// It returns the orientation (1 if none).
func stripJPEG(dst io.Writer, src io.Reader) (orientation int, err error) {
	r := bufio.NewReader(src)
	w := bufio.NewWriter(dst)
	orientation = 1
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil {
		return 0, readErr(err)
	}
	if soi != [2]byte{0xFF, mSOI} {
		return 0, malformed("not a JPEG")
	}
	w.Write(soi[:])
	exifDone := false
	var m byte // the marker found at the end of a scan, if any
	for {
		if m == 0 {
			b, err := r.ReadByte()
			if err != nil {
				return 0, readErr(err)
			}
			if b != 0xFF {
				return 0, malformed("expected a marker, found 0x%02x", b)
			}
			if m, err = r.ReadByte(); err != nil {
				return 0, readErr(err)
			}
			for m == 0xFF { // fill bytes
				if m, err = r.ReadByte(); err != nil {
					return 0, readErr(err)
				}
			}
		}
		marker := m
		m = 0
		if marker == mEOI {
			w.Write([]byte{0xFF, mEOI})
			if _, err := io.Copy(io.Discard, r); err != nil {
				return 0, err
			}
			return orientation, w.Flush()
		}
		if marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) { // standalone markers
			w.Write([]byte{0xFF, marker})
			continue
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return 0, readErr(err)
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if n < 2 {
			return 0, malformed("segment length %d", n)
		}
		payload := make([]byte, n-2) // at most 64 KiB
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, readErr(err)
		}
		switch {
		case marker == mAPP1:
			if o := exifOrientation(payload); o > 1 && o <= 8 && !exifDone {
				orientation, exifDone = o, true
				w.Write(minimalExif(o))
			}
			continue
		case marker == mAPP0:
			// Version, density units and density; no thumbnail.
			if len(payload) >= 14 && bytes.HasPrefix(payload, []byte("JFIF\x00")) {
				w.Write([]byte{0xFF, mAPP0, 0, 16})
				w.Write(payload[:12])
				w.Write([]byte{0, 0})
			}
			continue
		case marker == mAPP14:
			// Version, flags and the transform, which tells RGB or CMYK from
			// YCbCr or YCCK: without it colours come out wrong.
			if len(payload) >= 12 && bytes.HasPrefix(payload, []byte("Adobe")) {
				w.Write([]byte{0xFF, mAPP14, 0, 14})
				w.Write(payload[:12])
			}
			continue
		case marker == mAPP2 && bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")):
			// Kept: colours depend on it.
		case marker >= mAPP0 && marker <= mAPP15, marker == mCOM:
			continue
		}
		w.Write([]byte{0xFF, marker})
		w.Write(lb[:])
		w.Write(payload)
		if marker == mSOS {
			if m, err = copyScan(w, r); err != nil {
				return 0, err
			}
			if m == 0 { // input ended without an end marker
				return orientation, w.Flush()
			}
		}
	}
}

// copyScan copies entropy-coded data up to the next marker, which it
// consumes and returns (0 if the input ends first). In that data a 0xFF
// byte is followed by 0x00 (a stuffed 0xFF) or a restart marker.
func copyScan(w *bufio.Writer, r *bufio.Reader) (byte, error) {
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return 0, nil
		} else if err != nil {
			return 0, err
		}
		if b != 0xFF {
			w.WriteByte(b)
			continue
		}
		n, err := r.ReadByte()
		for err == nil && n == 0xFF {
			n, err = r.ReadByte()
		}
		if err == io.EOF {
			return 0, nil
		} else if err != nil {
			return 0, err
		}
		if n == 0x00 || (n >= 0xD0 && n <= 0xD7) {
			w.WriteByte(0xFF)
			w.WriteByte(n)
			continue
		}
		return n, nil
	}
}

// readErr turns the end of input inside a structure into errMalformed and
// passes other read errors (a broken or oversized upload) through.
func readErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("truncated")
	}
	return err
}

// exifOrientation returns the Orientation tag (0x0112) of IFD0 in an APP1
// Exif payload, or 0.
func exifOrientation(p []byte) int {
	if !bytes.HasPrefix(p, []byte("Exif\x00\x00")) || len(p) < 14 {
		return 0
	}
	t := p[6:] // the TIFF structure
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for i := range count {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			return int(bo.Uint16(t[e+8:]))
		}
	}
	return 0
}

// minimalExif returns an APP1 segment whose Exif holds only an orientation.
func minimalExif(orientation int) []byte {
	b := []byte{0xFF, mAPP1, 0, 34}
	b = append(b, "Exif\x00\x00"...)
	b = append(b, "MM\x00\x2a\x00\x00\x00\x08"...) // big-endian TIFF, IFD0 at 8
	b = append(b, 0, 1)                            // one entry
	b = append(b, 0x01, 0x12, 0, 3, 0, 0, 0, 1)    // Orientation, SHORT, count 1
	b = append(b, 0, byte(orientation), 0, 0)
	b = append(b, 0, 0, 0, 0) // no next IFD
	return b
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngDropped are the metadata chunks stripPNG leaves out.
var pngDropped = map[string]bool{"eXIf": true, "tEXt": true, "zTXt": true, "iTXt": true, "tIME": true}

// stripPNG copies a PNG from src to dst without its Exif and text chunks.
func stripPNG(dst io.Writer, src io.Reader) error {
	r := bufio.NewReader(src)
	w := bufio.NewWriter(dst)
	sig := make([]byte, len(pngSignature))
	if _, err := io.ReadFull(r, sig); err != nil {
		return readErr(err)
	}
	if !bytes.Equal(sig, pngSignature) {
		return malformed("not a PNG")
	}
	w.Write(sig)
	var h [8]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return readErr(err)
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		if n > 1<<31-1 {
			return malformed("chunk length %d", n)
		}
		typ := string(h[4:8])
		if pngDropped[typ] {
			if _, err := io.CopyN(io.Discard, r, n+4); err != nil {
				return readErr(err)
			}
			continue
		}
		w.Write(h[:])
		if _, err := io.CopyN(w, r, n+4); err != nil { // data and CRC
			return readErr(err)
		}
		if typ == "IEND" {
			// Anything after IEND is not part of the image: drop it.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return w.Flush()
		}
	}
}

// filtered returns a reader of src passed through strip, run on its own
// goroutine. Closing the returned reader stops it.
func filtered(src io.Reader, strip func(io.Writer, io.Reader) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(strip(pw, src))
	}()
	return pr
}

// uploadError says what went wrong with the bytes a client sent: too many,
// cut off, or not the image they claim to be.
func uploadError(err error, maxSize int64) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return chat.Errorf(chat.ETooLarge, "media is at most %d bytes", maxSize)
	case errors.Is(err, errMalformed):
		return chat.Errorf(chat.EBadRequest, "not a valid image: %v", err)
	}
	return nil
}

// WebP keeps its metadata in EXIF and "XMP " chunks that the VP8X chunk
// (first in the extended format) announces with flag bits. Decoders do
// not need the flags to find the chunks, and a file may carry any chunk,
// so the stripper goes by chunks, not flags.
const (
	webpFlagEXIF = 0x08
	webpFlagXMP  = 0x04
)

// webpKept are the chunks of the extended format that stripWebP keeps:
// those that make the picture. A simple-format file (no VP8X) is one VP8
// or VP8L chunk; stripWebP keeps only the first such chunk.
var webpKept = map[string]bool{"VP8X": true, "ICCP": true, "ANIM": true, "ANMF": true, "ALPH": true, "VP8 ": true, "VP8L": true}

// stripWebP copies a WebP from src to dst with only the chunks that make
// the picture (no EXIF, XMP or unknown chunks, nothing past the RIFF
// length), and the VP8X metadata flags cleared. The RIFF header states the
// file's length up front, so it reads src twice: once to add up what
// goes, once to copy the rest.
func stripWebP(dst io.Writer, src io.ReadSeeker) error {
	var hdr [12]byte
	if _, err := io.ReadFull(src, hdr[:]); err != nil {
		return readErr(err)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WEBP" {
		return malformed("not a WebP")
	}
	riff := int64(binary.LittleEndian.Uint32(hdr[4:8]))
	extended := false
	index := 0          // of the chunk being walked
	imageFound := false // in a simple file, whether its image chunk came
	drop := func(fourcc string) bool {
		if index == 0 {
			extended, imageFound = fourcc == "VP8X", false
		}
		if extended {
			return !webpKept[fourcc]
		}
		if !imageFound && (fourcc == "VP8 " || fourcc == "VP8L") {
			imageFound = true
			return false
		}
		return true
	}
	// walk calls fn for each chunk within the RIFF length, positioned at
	// its payload; fn must consume exactly padded bytes.
	walk := func(fn func(ch [8]byte, padded int64) error) error {
		if _, err := src.Seek(12, io.SeekStart); err != nil {
			return err
		}
		for pos, i := int64(4), 0; pos < riff; i++ {
			index = i
			var ch [8]byte
			if _, err := io.ReadFull(src, ch[:]); err != nil {
				return readErr(err)
			}
			size := int64(binary.LittleEndian.Uint32(ch[4:]))
			padded := size + size&1
			if pos+8+padded > riff {
				return malformed("chunk past the end")
			}
			if err := fn(ch, padded); err != nil {
				return err
			}
			pos += 8 + padded
		}
		return nil
	}
	var removed int64
	err := walk(func(ch [8]byte, padded int64) error {
		if drop(string(ch[:4])) {
			removed += 8 + padded
		}
		_, err := src.Seek(padded, io.SeekCurrent)
		return err
	})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(dst)
	w.WriteString("RIFF")
	binary.Write(w, binary.LittleEndian, uint32(riff-removed))
	w.WriteString("WEBP")
	err = walk(func(ch [8]byte, padded int64) error {
		fourcc := string(ch[:4])
		if drop(fourcc) {
			_, err := src.Seek(padded, io.SeekCurrent)
			return err
		}
		w.Write(ch[:])
		if fourcc == "VP8X" && padded > 0 {
			var flags [1]byte
			if _, err := io.ReadFull(src, flags[:]); err != nil {
				return readErr(err)
			}
			w.WriteByte(flags[0] &^ (webpFlagEXIF | webpFlagXMP))
			padded--
		}
		_, err := io.CopyN(w, src, padded)
		return readErr(err)
	})
	if err != nil {
		return err
	}
	return w.Flush()
}
