-- last_rev_at: when the conversation's last change (the one that took
-- last_rev) was made, in Unix milliseconds; 0 before any change or for
-- changes made before this column. The next change's update event carries
-- it, so that a node hearing that event before an earlier one from another
-- node knows the earlier one may still be on its way and holds it in rev
-- order (internal/node/sequencer.go).
ALTER TABLE conversations ADD COLUMN last_rev_at bigint NOT NULL DEFAULT 0;
