package media

import (
	"bufio"
	"io"
)

// GIF blocks and extension labels.
const (
	gifExtension   = 0x21
	gifImage       = 0x2C
	gifTrailer     = 0x3B
	gifControl     = 0xF9 // frame delay and transparency: kept
	gifPlainText   = 0x01 // text drawn on the picture: kept
	gifApplication = 0xFF // kept only for looping (NETSCAPE2.0, ANIMEXTS1.0)
)

// gifLooping are the application extensions that say how often an
// animation loops; every other one (XMP, ICC, editors' private data) goes.
var gifLooping = map[string]bool{"NETSCAPE2.0": true, "ANIMEXTS1.0": true}

// stripGIF copies a GIF from src to dst without its comments, application
// extensions other than looping, unknown extensions, and anything after
// its trailer. Frames and their palettes are copied byte for byte.
func stripGIF(dst io.Writer, src io.Reader) error {
	r := bufio.NewReader(src)
	w := bufio.NewWriter(dst)
	var hdr [13]byte // signature, version, logical screen descriptor
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return readErr(err)
	}
	if v := string(hdr[:6]); v != "GIF87a" && v != "GIF89a" {
		return malformed("not a GIF")
	}
	w.Write(hdr[:])
	if hdr[10]&0x80 != 0 { // global colour table
		if _, err := io.CopyN(w, r, 3<<(hdr[10]&7+1)); err != nil {
			return readErr(err)
		}
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			return readErr(err)
		}
		switch b {
		case gifTrailer:
			w.WriteByte(b)
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return w.Flush()
		case gifImage:
			var d [9]byte // position, size, flags
			if _, err := io.ReadFull(r, d[:]); err != nil {
				return readErr(err)
			}
			w.WriteByte(b)
			w.Write(d[:])
			if d[8]&0x80 != 0 { // local colour table
				if _, err := io.CopyN(w, r, 3<<(d[8]&7+1)); err != nil {
					return readErr(err)
				}
			}
			codeSize, err := r.ReadByte() // LZW minimum code size
			if err != nil {
				return readErr(err)
			}
			w.WriteByte(codeSize)
			if err := gifSubBlocks(w, r); err != nil {
				return err
			}
		case gifExtension:
			label, err := r.ReadByte()
			if err != nil {
				return readErr(err)
			}
			switch label {
			case gifControl, gifPlainText:
				w.Write([]byte{b, label})
				err = gifSubBlocks(w, r)
			case gifApplication:
				err = gifApplicationBlock(w, r)
			default: // comments and unknown extensions
				err = gifSubBlocks(io.Discard, r)
			}
			if err != nil {
				return err
			}
		default:
			return malformed("unknown GIF block 0x%02x", b)
		}
	}
}

// gifApplicationBlock copies an application extension (its introducer and
// label already read) if it is a looping one, and skips it otherwise.
func gifApplicationBlock(w io.Writer, r *bufio.Reader) error {
	n, err := r.ReadByte()
	if err != nil {
		return readErr(err)
	}
	if n == 0 { // no identifier: an empty extension
		return nil
	}
	id := make([]byte, n)
	if _, err := io.ReadFull(r, id); err != nil {
		return readErr(err)
	}
	if !gifLooping[string(id)] {
		return gifSubBlocks(io.Discard, r)
	}
	w.Write([]byte{gifExtension, gifApplication, n})
	w.Write(id)
	return gifSubBlocks(w, r)
}

// gifSubBlocks copies data sub-blocks up to and including the empty one
// that ends them.
func gifSubBlocks(w io.Writer, r *bufio.Reader) error {
	var buf [256]byte
	for {
		n, err := r.ReadByte()
		if err != nil {
			return readErr(err)
		}
		buf[0] = n
		if _, err := io.ReadFull(r, buf[1:1+int(n)]); err != nil {
			return readErr(err)
		}
		if _, err := w.Write(buf[:1+int(n)]); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
