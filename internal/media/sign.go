package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"time"
)

// A signed URL lets whoever holds it fetch one object until it expires,
// without a token: an <img> tag, a download manager or a CDN can use it.
// The signature is HMAC-SHA256, with the server secret, over
// "id|thumb|exp" (thumb "1" or "0", exp Unix seconds).

func (h *handler) signature(id string, thumb bool, exp int64) string {
	t := "0"
	if thumb {
		t = "1"
	}
	m := hmac.New(sha256.New, h.Secret)
	m.Write([]byte(id + "|" + t + "|" + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// expiry is when a URL signed now expires: at least URLTTL from now,
// rounded up to a quarter of URLTTL so that the URLs signed for the same
// object within that quarter are the same and caches can reuse them.
func (h *handler) expiry() int64 {
	ttl := int64(h.URLTTL / time.Second)
	step := max(1, ttl/4)
	end := h.Now().Unix() + ttl
	return (end + step - 1) / step * step
}

// signedURL returns the URL of an object, signed until exp.
func (h *handler) signedURL(id string, thumb bool, exp int64) string {
	q := url.Values{}
	if thumb {
		q.Set("thumb", "1")
	}
	q.Set("exp", strconv.FormatInt(exp, 10))
	q.Set("sig", h.signature(id, thumb, exp))
	return h.URLPrefix + "/v1/media/" + id + "?" + q.Encode()
}

// verify checks a signature; it reports the seconds left, or why not.
func (h *handler) verify(id string, thumb bool, expText, sig string) (left int64, reason string) {
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil {
		return 0, "malformed link"
	}
	want := h.signature(id, thumb, exp)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return 0, "the link's signature is not valid"
	}
	left = exp - h.Now().Unix()
	if left <= 0 {
		return 0, "the link has expired"
	}
	return left, ""
}
