-- Uploaded media: one row per upload, written once the bytes are stored.
-- Messages carry a copy of the fields in their media jsonb (0001); the
-- expression index answers "in which conversations was this media sent?"
-- for the access check.

CREATE TABLE media (
    id           text PRIMARY KEY,
    uploader_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    width        integer NOT NULL DEFAULT 0,
    height       integer NOT NULL DEFAULT 0,
    sha256       text NOT NULL,
    created_at   bigint NOT NULL
);
CREATE INDEX media_uploader_id ON media (uploader_id);

CREATE INDEX messages_media_id ON messages ((media ->> 'id')) WHERE media IS NOT NULL;
