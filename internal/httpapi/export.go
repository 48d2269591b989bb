package httpapi

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// handleExport streams a zip of the caller's data: manifest.json (account,
// conversations by id and name, uploads), messages.jsonl (every message
// the caller sent, one per line) and media/{id} (the caller's uploads).
// The manifest is written last, as it counts the messages.
func handleExport(svc *chat.Service, open func(ctx context.Context, id string) (io.ReadCloser, error), log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, sess := r.Context(), SessionFrom(r.Context())
		ex, err := svc.ExportAccount(ctx, sess)
		if err != nil {
			httpjson.Error(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="switchboard-%s.zip"`, ex.User.Username))
		zw := zip.NewWriter(w)
		// Once bytes are out the status is sent; a failure now can only cut
		// the archive short, which its missing manifest shows.
		if err := writeExport(ctx, svc, sess, ex, open, zw); err != nil {
			log.Warn("export cut short", "user", sess.UserID, "err", err)
			return
		}
		if err := zw.Close(); err != nil {
			log.Warn("export close", "user", sess.UserID, "err", err)
		}
	}
}

func writeExport(ctx context.Context, svc *chat.Service, sess chat.Session, ex chat.Export,
	open func(ctx context.Context, id string) (io.ReadCloser, error), zw *zip.Writer) error {
	f, err := zw.Create("messages.jsonl")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	var n int64
	for after := (chat.SentCursor{}); ; {
		ms, err := svc.ExportMessages(ctx, sess, after)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			if err := enc.Encode(encode.Message(m)); err != nil {
				return err
			}
		}
		n += int64(len(ms))
		last := ms[len(ms)-1]
		after = chat.SentCursor{ConversationID: last.ConversationID, Seq: last.Seq}
	}
	man := wire.ExportManifest{Format: 1, ExportedAt: time.Now().UnixMilli(), User: encode.Self(ex.User), Messages: n,
		Conversations: make([]wire.ExportConversation, len(ex.Conversations)), Media: make([]wire.ExportMedia, len(ex.Media))}
	for i, c := range ex.Conversations {
		man.Conversations[i] = wire.ExportConversation{ID: c.ID, Kind: c.Kind, Name: c.Name, Title: c.Title, Peer: c.Peer}
	}
	for i, m := range ex.Media {
		man.Media[i] = wire.ExportMedia{Media: *encode.Media(&m), CreatedAt: m.CreatedAt}
		if open == nil {
			continue
		}
		rc, err := open(ctx, m.ID)
		if err != nil {
			continue // an upload whose bytes are gone is listed without a file
		}
		name := "media/" + m.ID
		f, err := zw.Create(name)
		if err == nil {
			_, err = io.Copy(f, rc)
		}
		rc.Close()
		if err != nil {
			return err
		}
		man.Media[i].File = name
	}
	f, err = zw.Create("manifest.json")
	if err != nil {
		return err
	}
	e := json.NewEncoder(f)
	e.SetIndent("", "  ")
	return e.Encode(man)
}
