package postgres

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// PutMedia records an upload. EConflict if the id is taken, ENotFound if
// the uploader does not exist.
func (s *Store) PutMedia(ctx context.Context, m chat.Media) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO media (id, uploader_id, content_type, size, width, height, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.ID, m.UploaderID, m.ContentType, m.Size, m.Width, m.Height, m.SHA256, m.CreatedAt)
	if err := dbErr(err); chat.ErrorCode(err) == chat.EConflict {
		return chat.Errorf(chat.EConflict, "media %q exists", m.ID)
	} else if err != nil {
		return err
	}
	return nil
}

// Media returns an upload's record. ENotFound.
func (s *Store) Media(ctx context.Context, id string) (chat.Media, error) {
	var m chat.Media
	err := s.pool.QueryRow(ctx, `SELECT id, uploader_id, content_type, size, width, height, sha256, created_at
		FROM media WHERE id = $1`, id).
		Scan(&m.ID, &m.UploaderID, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.SHA256, &m.CreatedAt)
	if err := dbErr(err); chat.ErrorCode(err) == chat.ENotFound {
		return chat.Media{}, chat.Errorf(chat.ENotFound, "no media %q", id)
	} else if err != nil {
		return chat.Media{}, err
	}
	return m, nil
}

// CanAccessMedia reports whether userID may fetch mediaID: it is the
// uploader, or a current member of a conversation holding a message that
// carries the media and that the member may read (history since_join
// hides what came before it joined). An unknown media id gives false.
func (s *Store) CanAccessMedia(ctx context.Context, mediaID, userID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM media WHERE id = $1 AND uploader_id = $2)
		OR EXISTS (SELECT 1 FROM messages m
			JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $2
			JOIN conversations c ON c.id = m.conversation_id
			WHERE m.media IS NOT NULL AND m.media ->> 'id' = $1
				AND (c.history <> 'since_join' OR m.seq > mb.joined_seq))
		OR EXISTS (SELECT 1 FROM users WHERE avatar_media_id = $1 AND deleted_at = 0)`, mediaID, userID).Scan(&ok)
	return ok, dbErr(err)
}

// MediaUsage returns how many uploads userID made at or after since (Unix
// ms), the oldest of their times, and the bytes of all userID's uploads.
func (s *Store) MediaUsage(ctx context.Context, userID string, since int64) (chat.MediaUsage, error) {
	var u chat.MediaUsage
	err := s.pool.QueryRow(ctx, `SELECT
		COUNT(*) FILTER (WHERE created_at >= $2),
		COALESCE(MIN(created_at) FILTER (WHERE created_at >= $2), 0),
		COALESCE(SUM(size), 0)::bigint
		FROM media WHERE uploader_id = $1`, userID, since).Scan(&u.Uploads, &u.Oldest, &u.Bytes)
	return u, dbErr(err)
}
