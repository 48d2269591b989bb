package media

import (
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
)

// fetch serves an upload (or with ?thumb=1 its thumbnail) to a holder of a
// valid signed URL, or to a user allowed by CanAccessMedia. With ?sign=1
// (token only) it answers a signed URL instead of the bytes. Range,
// If-None-Match and If-Modified-Since work as usual.
func (h *handler) fetch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !validID(id) {
		h.error(w, r, chat.Errorf(chat.ENotFound, "no media %q", id))
		return
	}
	q := r.URL.Query()
	var thumb bool
	switch q.Get("thumb") {
	case "", "0", "false":
	case "1", "true":
		thumb = true
	default:
		h.error(w, r, chat.Errorf(chat.EBadRequest, "thumb must be 1 or 0"))
		return
	}

	var md chat.Media
	var cacheControl string
	if q.Has("sig") || q.Has("exp") {
		left, reason := h.verify(id, thumb, q.Get("exp"), q.Get("sig"))
		if reason != "" {
			h.error(w, r, chat.Errorf(chat.EForbidden, "%s", reason))
			return
		}
		m, err := h.Meta.Media(ctx, id)
		if err != nil {
			h.error(w, r, err)
			return
		}
		md = m
		// The bytes behind an id never change: cache them for as long as
		// the link works, and no longer.
		cacheControl = fmt.Sprintf("private, max-age=%d, immutable", left)
	} else {
		sess, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		m, err := h.Meta.Media(ctx, id)
		if err != nil {
			h.error(w, r, err)
			return
		}
		allowed, err := h.Meta.CanAccessMedia(ctx, id, sess.UserID)
		if err != nil {
			h.error(w, r, err)
			return
		}
		if !allowed {
			h.error(w, r, chat.Errorf(chat.EForbidden, "media %q was not shared with you", id))
			return
		}
		md = m
		if q.Get("sign") == "1" {
			if thumb && md.Width == 0 {
				h.error(w, r, chat.Errorf(chat.ENotFound, "media %q has no thumbnail", id))
				return
			}
			exp := h.expiry()
			httpjson.Write(w, http.StatusOK, map[string]any{
				"url": h.signedURL(id, thumb, exp), "expires_at": exp * 1000,
			})
			return
		}
		// Access can end (a member leaves): revalidate every time, which the
		// ETag makes cheap.
		cacheControl = "private, no-cache"
		w.Header().Set("Vary", "Authorization")
	}

	key, etag, ctype := originalKey(id), `"`+md.SHA256+`"`, md.ContentType
	if thumb {
		if md.Width == 0 {
			h.error(w, r, chat.Errorf(chat.ENotFound, "media %q has no thumbnail", id))
			return
		}
		key, etag, ctype = thumbKey(id), `"`+md.SHA256+`-thumb"`, thumbType(md.ContentType)
	}
	rc, _, err := h.Blobs.Get(ctx, key)
	if err != nil {
		h.error(w, r, err)
		return
	}
	defer rc.Close()
	disposition, ext := "inline", "bin"
	if k, ok := kindOf(ctype); ok {
		ext = k.ext
		if k.attachment {
			disposition = "attachment"
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s.%s"`, disposition, id, ext))
	// Never let a browser guess a type or run what it is served.
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.UnixMilli(md.CreatedAt), rc)
}
