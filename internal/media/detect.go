package media

import (
	"bytes"
	"mime"
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// sniffLen is how many leading bytes the type check looks at.
const sniffLen = 512

// kind is an allowed type: its canonical Content-Type, the names a client
// may declare for it, and how a browser should present it.
type kind struct {
	contentType string
	aliases     []string
	attachment  bool   // served with Content-Disposition: attachment
	ext         string // file name extension for downloads
}

// kinds is the allow-list; anything else is refused.
var kinds = []kind{
	{contentType: "image/png", ext: "png"},
	{contentType: "image/jpeg", aliases: []string{"image/jpg", "image/pjpeg"}, ext: "jpg"},
	{contentType: "image/gif", ext: "gif"},
	{contentType: "image/webp", ext: "webp"},
	{contentType: "audio/mpeg", aliases: []string{"audio/mp3", "audio/mpeg3", "audio/x-mpeg"}, ext: "mp3"},
	{contentType: "audio/ogg", aliases: []string{"application/ogg", "audio/opus", "audio/vorbis", "audio/x-ogg"}, ext: "ogg"},
	{contentType: "audio/wav", aliases: []string{"audio/wave", "audio/x-wav", "audio/vnd.wave"}, ext: "wav"},
	{contentType: "video/mp4", ext: "mp4"},
	{contentType: "video/webm", ext: "webm"},
	{contentType: "application/pdf", aliases: []string{"application/x-pdf"}, attachment: true, ext: "pdf"},
	{contentType: "text/plain; charset=utf-8", attachment: true, ext: "txt"},
}

// kindOf returns the allowed kind with the given canonical Content-Type.
func kindOf(contentType string) (kind, bool) {
	for _, k := range kinds {
		if k.contentType == contentType {
			return k, true
		}
	}
	return kind{}, false
}

// isImage reports whether ct is one of the image kinds, which get their
// dimensions read and a thumbnail made.
func isImage(ct string) bool { return strings.HasPrefix(ct, "image/") }

// detect decides an upload's type from its first bytes. The declared
// Content-Type is only checked against that: a client may leave it out (or
// say application/octet-stream), but may not claim one type for bytes of
// another, so a script uploaded as image/png is refused.
func detect(head []byte, declared string) (kind, error) {
	if len(head) == 0 {
		return kind{}, chat.Errorf(chat.EBadRequest, "the upload is empty")
	}
	got := sniff(head)
	k, ok := kindOf(got)
	if !ok {
		return kind{}, chat.Errorf(chat.EBadRequest, "this type of file (%s) is not accepted", strings.SplitN(got, ";", 2)[0])
	}
	if declared == "" {
		return k, nil
	}
	dt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		return kind{}, chat.Errorf(chat.EBadRequest, "malformed Content-Type %q", declared)
	}
	switch {
	case dt == "application/octet-stream":
	case dt == strings.SplitN(k.contentType, ";", 2)[0]:
	case k.ext == "txt" && strings.HasPrefix(dt, "text/"):
		// Any text is kept and served as plain text.
	default:
		for _, a := range k.aliases {
			if dt == a {
				return k, nil
			}
		}
		return kind{}, chat.Errorf(chat.EBadRequest, "the content is %s, not %s", strings.SplitN(k.contentType, ";", 2)[0], dt)
	}
	return k, nil
}

// sniff is http.DetectContentType with the gaps that matter here filled:
// MP3 without an ID3 tag, and Ogg told apart by codec (audio only).
func sniff(head []byte) string {
	ct := http.DetectContentType(head)
	switch ct {
	case "application/octet-stream":
		if isMP3Frame(head) {
			return "audio/mpeg"
		}
	case "audio/wave":
		return "audio/wav"
	case "application/ogg":
		for _, codec := range []string{"OpusHead", "\x01vorbis", "\x7fFLAC", "Speex   "} {
			if bytes.Contains(head, []byte(codec)) {
				return "audio/ogg"
			}
		}
		return "video/ogg"
	}
	return ct
}

// isMP3Frame reports whether b starts with an MPEG audio layer III frame
// header (sync, a valid version, bitrate and sample rate).
func isMP3Frame(b []byte) bool {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return false
	}
	version, layer := (b[1]>>3)&3, (b[1]>>1)&3
	bitrate, rate := b[2]>>4, (b[2]>>2)&3
	return version != 1 && layer == 1 && bitrate != 0 && bitrate != 15 && rate != 3
}
