// Package media serves uploads: POST /v1/media stores a file (its type
// checked from its bytes, images measured, thumbnailed and stripped of
// metadata) and GET /v1/media/{id} serves it to those allowed to see it,
// by bearer token or by a short-lived signed URL that browsers and caches
// can reuse. Bytes live in a blob.Store, records in a MetaStore.
package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
)

// MetaStore keeps upload records and answers who may see them.
// Implemented by *sqlite.Store and *postgres.Store; mediatest is its
// conformance suite.
type MetaStore interface {
	// PutMedia records an upload. EConflict if the id is taken.
	PutMedia(ctx context.Context, m chat.Media) error
	// Media returns an upload's record. ENotFound.
	Media(ctx context.Context, id string) (chat.Media, error)
	// CanAccessMedia reports whether userID is the uploader of mediaID or a
	// current member of a conversation holding a message that carries it
	// (invariant 6). An unknown media id gives false.
	CanAccessMedia(ctx context.Context, mediaID, userID string) (bool, error)
	// MediaUsage returns how many uploads userID made at or after since
	// (Unix ms), the oldest of their times, and the bytes of all of
	// userID's uploads. An unknown user has none.
	MediaUsage(ctx context.Context, userID string, since int64) (chat.MediaUsage, error)
}

// Defaults for the zero values of Deps.
const (
	DefaultMaxSize   = 10 << 20
	DefaultMaxPixels = 50_000_000
	DefaultThumbSize = 320
	DefaultURLTTL    = time.Hour
	// DefaultDecodeBudget is the memory one image may take to decode and
	// thumbnail: a 48-megapixel JPEG photo fits, a 7000x7000 16-bit PNG
	// or lossless WebP does not.
	DefaultDecodeBudget = 160 << 20
	// DefaultMaxUploadsPerHour and DefaultMaxUserBytes are the per-user
	// caps: uploads in any hour, and bytes of all of a user's uploads.
	DefaultMaxUploadsPerHour = 120
	DefaultMaxUserBytes      = 2 << 30
)

// Deps are what the handler needs. Blobs, Meta and Authenticate are
// required; zero values of the rest take the defaults.
type Deps struct {
	Blobs blob.Store
	Meta  MetaStore
	// Authenticate returns the session of a request's bearer token, or an
	// EUnauthorized error.
	Authenticate func(r *http.Request) (chat.Session, error)
	// Secret signs media URLs. Every node of a cluster must share it, or a
	// URL signed by one node is refused by the others. Empty means a
	// random secret for this process (fine for a single node; links then
	// die with a restart).
	Secret []byte
	// URLPrefix goes before "/v1/media/..." in the URLs handed out, e.g. a
	// CDN's base URL; empty gives relative URLs.
	URLPrefix string
	NewID     func() string
	Now       func() time.Time
	MaxSize   int64         // bytes per upload
	MaxPixels int64         // pixels per image
	ThumbSize int           // thumbnail box, pixels
	URLTTL    time.Duration // how long a signed URL works (at least)
	// MaxUploadsPerHour caps a user's uploads in any hour (ERateLimited
	// past it); MaxUserBytes caps the bytes of all of a user's uploads
	// (ETooLarge past it). Negative turns a cap off.
	MaxUploadsPerHour int
	MaxUserBytes      int64
	// DecodeBudget is the most memory, in bytes, that decoding and
	// thumbnailing one image may take, estimated from its header before
	// decoding (see decodeCost); an image over it is ETooLarge.
	DecodeBudget int64
	// MaxDecodes bounds how many images this node decodes at once, so
	// decodes take at most MaxDecodes x DecodeBudget bytes. Default: half
	// the CPUs, at least 2.
	MaxDecodes int
	// MaxDecodesPerUser bounds the decodes one uploader may have running
	// or waiting; over it an upload is ERateLimited. Default: half of
	// MaxDecodes, at least 1.
	MaxDecodesPerUser int
	Logger            *slog.Logger
}

type handler struct {
	Deps
	mux     *http.ServeMux
	decodes *slots
}

// NewHandler returns the handler of POST /v1/media and GET /v1/media/{id}.
func NewHandler(d Deps) http.Handler {
	if d.Blobs == nil || d.Meta == nil || d.Authenticate == nil {
		panic("media: Blobs, Meta and Authenticate are required")
	}
	if len(d.Secret) == 0 {
		d.Secret = make([]byte, 32)
		rand.Read(d.Secret)
	}
	if d.NewID == nil {
		d.NewID = randomID
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxSize <= 0 {
		d.MaxSize = DefaultMaxSize
	}
	if d.MaxPixels <= 0 {
		d.MaxPixels = DefaultMaxPixels
	}
	if d.ThumbSize <= 0 {
		d.ThumbSize = DefaultThumbSize
	}
	if d.URLTTL <= 0 {
		d.URLTTL = DefaultURLTTL
	}
	if d.MaxUploadsPerHour == 0 {
		d.MaxUploadsPerHour = DefaultMaxUploadsPerHour
	}
	if d.MaxUserBytes == 0 {
		d.MaxUserBytes = DefaultMaxUserBytes
	}
	if d.DecodeBudget <= 0 {
		d.DecodeBudget = DefaultDecodeBudget
	}
	if d.MaxDecodes <= 0 {
		d.MaxDecodes = max(2, runtime.GOMAXPROCS(0)/2)
	}
	if d.MaxDecodesPerUser <= 0 {
		d.MaxDecodesPerUser = max(1, d.MaxDecodes/2)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{Deps: d, mux: http.NewServeMux(), decodes: newSlots(d.MaxDecodes, d.MaxDecodesPerUser)}
	h.mux.HandleFunc("POST /v1/media", h.upload)
	h.mux.HandleFunc("GET /v1/media/{id}", h.fetch)
	h.mux.HandleFunc("/v1/media", h.badMethod)
	h.mux.HandleFunc("/v1/media/", h.badMethod)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) badMethod(w http.ResponseWriter, r *http.Request) {
	h.error(w, r, chat.Errorf(chat.ENotFound, "no route %s %s", r.Method, r.URL.Path))
}

func (h *handler) error(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.Error(w, r, h.Logger, err)
}

func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (chat.Session, bool) {
	sess, err := h.Authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		h.error(w, r, err)
		return chat.Session{}, false
	}
	return sess, true
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validID reports whether id can name media (and so a blob key part).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Blob keys: originals and thumbnails, spread over 256 directories by the
// id's last characters (its random part).
func originalKey(id string) string { return "o/" + shard(id) + "/" + id }
func thumbKey(id string) string    { return "t/" + shard(id) + "/" + id }
func stagingKey(id string) string  { return "u/" + shard(id) + "/" + id }

func shard(id string) string {
	if len(id) < 2 {
		return "00"
	}
	return id[len(id)-2:]
}
