package media

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// bodyReader remembers the first error reading the request body gave, so
// that a failed upload can be blamed on the client (too large, cut off)
// rather than on the storage.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// bodyError describes a failed body read in the API's terms.
func (h *handler) bodyError(err error) error {
	if e := uploadError(err, h.MaxSize); e != nil {
		return e
	}
	return httpjson.BodyError(err)
}

// upload streams the body into the blob store (its type checked from the
// first bytes before anything is stored, its hash taken on the way, image
// metadata stripped), then makes the thumbnail and writes the record. A
// body over the limit, cut off, or of a refused type stores nothing.
func (h *handler) upload(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if r.ContentLength > h.MaxSize {
		// Refused before reading; closing spares reading what was sent.
		w.Header().Set("Connection", "close")
		h.error(w, r, chat.Errorf(chat.ETooLarge, "media is at most %d bytes", h.MaxSize))
		return
	}
	usage, err := h.checkQuota(r.Context(), sess.UserID, r.ContentLength)
	if err != nil {
		w.Header().Set("Connection", "close")
		h.error(w, r, err)
		return
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, h.MaxSize)}
	br := bufio.NewReaderSize(body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && body.err != nil {
		h.error(w, r, h.bodyError(body.err))
		return
	}
	k, err := detect(head, r.Header.Get("Content-Type"))
	if err != nil {
		h.error(w, r, err)
		return
	}
	id := h.NewID()
	if !validID(id) {
		h.error(w, r, errors.New("media: NewID made an id that cannot name a blob: "+id))
		return
	}
	ctx := r.Context()

	var src io.Reader = br
	orientation := 1
	switch k.contentType {
	case "image/jpeg":
		pr := filtered(br, func(w io.Writer, r io.Reader) (err error) {
			orientation, err = stripJPEG(w, r)
			return err
		})
		defer pr.Close()
		src = pr
	case "image/png":
		pr := filtered(br, stripPNG)
		defer pr.Close()
		src = pr
	case "image/gif":
		pr := filtered(br, stripGIF)
		defer pr.Close()
		src = pr
	}
	// A WebP is stored aside first and copied without its metadata (see
	// stripWebP); anything else goes straight to its place.
	key := originalKey(id)
	rewrite := k.contentType == "image/webp"
	if rewrite {
		key = stagingKey(id)
	}
	sum := sha256.New()
	size, err := h.Blobs.Put(ctx, key, io.TeeReader(src, sum))
	if err == nil && rewrite {
		sum.Reset()
		size, err = h.rewriteWebP(ctx, id, sum)
	}
	if err != nil {
		switch {
		case body.err != nil:
			err = h.bodyError(body.err)
		case errors.Is(err, errMalformed):
			err = uploadError(err, h.MaxSize)
		}
		h.error(w, r, err)
		return
	}
	if err := h.checkStored(usage, size); err != nil {
		h.discard(id)
		h.error(w, r, err)
		return
	}
	md := chat.Media{
		ID:          id,
		UploaderID:  sess.UserID,
		ContentType: k.contentType,
		Size:        size,
		SHA256:      hex.EncodeToString(sum.Sum(nil)),
		CreatedAt:   h.Now().UnixMilli(),
	}
	if isImage(k.contentType) {
		if err := h.thumbnail(ctx, &md, orientation); err != nil {
			h.discard(id)
			h.error(w, r, err)
			return
		}
	}
	if err := h.Meta.PutMedia(ctx, md); err != nil {
		h.discard(id)
		h.error(w, r, err)
		return
	}
	exp := h.expiry()
	out := wire.Media{
		ID: md.ID, ContentType: md.ContentType, Size: md.Size, Width: md.Width, Height: md.Height,
		SHA256: md.SHA256, URL: h.signedURL(id, false, exp), ExpiresAt: exp * 1000,
	}
	if md.Width > 0 {
		out.ThumbURL = h.signedURL(id, true, exp)
	}
	w.Header().Set("Location", "/v1/media/"+id)
	httpjson.Write(w, http.StatusCreated, wire.MediaResponse{Media: out})
}

// rewriteWebP copies a staged WebP to its place without its metadata,
// hashing what it stores, and removes the staged copy.
func (h *handler) rewriteWebP(ctx context.Context, id string, sum io.Writer) (int64, error) {
	defer func() {
		if err := h.Blobs.Delete(context.WithoutCancel(ctx), stagingKey(id)); err != nil {
			h.Logger.Warn("media: delete staged upload", "id", id, "err", err)
		}
	}()
	rc, _, err := h.Blobs.Get(ctx, stagingKey(id))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(stripWebP(pw, rc)) }()
	defer pr.Close()
	return h.Blobs.Put(ctx, originalKey(id), io.TeeReader(pr, sum))
}

// thumbnail decodes the stored image, fills in its dimensions and stores
// its thumbnail.
func (h *handler) thumbnail(ctx context.Context, md *chat.Media, orientation int) error {
	release, err := h.decodes.acquire(ctx, md.UploaderID)
	if err != nil {
		return err
	}
	defer release()
	rc, _, err := h.Blobs.Get(ctx, originalKey(md.ID))
	if err != nil {
		return err
	}
	pic, err := makePicture(rc, md.ContentType, orientation, limits{pixels: h.MaxPixels, budget: h.DecodeBudget, thumb: h.ThumbSize})
	rc.Close()
	if err != nil {
		return err
	}
	if _, err := h.Blobs.Put(ctx, thumbKey(md.ID), bytes.NewReader(pic.thumb)); err != nil {
		return err
	}
	md.Width, md.Height = pic.width, pic.height
	return nil
}

// discard deletes the blobs of an upload that did not make it.
func (h *handler) discard(id string) {
	ctx := context.WithoutCancel(context.Background())
	for _, key := range []string{originalKey(id), thumbKey(id), stagingKey(id)} {
		if err := h.Blobs.Delete(ctx, key); err != nil {
			h.Logger.Warn("media: delete after a failed upload", "key", key, "err", err)
		}
	}
}

// thumbType is the Content-Type of the thumbnail of an image of type ct.
func thumbType(ct string) string {
	if ct == "image/jpeg" {
		return ct
	}
	return "image/png"
}

// DeleteBytes removes the stored bytes of upload id (original and
// thumbnail), once no message carries it any more. Missing blobs are no
// error.
func DeleteBytes(ctx context.Context, blobs blob.Store, id string) error {
	if !validID(id) {
		return nil
	}
	var errs []error
	for _, key := range []string{originalKey(id), thumbKey(id)} {
		if err := blobs.Delete(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
