-- Uploaded media: one row per upload, written once the bytes are stored.
-- Messages copy these fields when they carry the media (0001), so who may
-- fetch an upload is answered from messages and members.

CREATE TABLE media (
	id           TEXT PRIMARY KEY,
	uploader_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	sha256       TEXT NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX media_uploader ON media (uploader_id);
