package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// appendAttempts bounds how often AppendMessages runs a batch: a first,
// optimistic attempt, then again after a conflict (a deadlock, or a
// client_msg_id stored before).
const appendAttempts = 5

// rollbackTimeout bounds the rollback of a failed transaction before its
// connection goes back to the pool.
const rollbackTimeout = 5 * time.Second

// Statements of the append transaction. Each is prepared once per
// connection; the batch travels as arrays, so a batch of any size costs the
// same two round trips.
const (
	// Conversation rows are locked in id order so that transactions of
	// different nodes over overlapping sets of conversations cannot
	// deadlock. NO KEY UPDATE is what the later UPDATE takes anyway, and it
	// leaves foreign-key checks (new members) unblocked.
	sqlLockConversations = `SELECT id, last_seq, last_ts FROM conversations
		WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`
	sqlMemberships = `SELECT m.conversation_id, m.user_id
		FROM unnest($1::text[], $2::text[]) AS k(conversation_id, user_id)
		JOIN members m ON m.conversation_id = k.conversation_id AND m.user_id = k.user_id`
	sqlUsernames = `SELECT id, username FROM users WHERE id = ANY($1::text[])`
	// No join with users here: it tempts the planner into scanning all of
	// a sender's messages instead of probing the index per key. The keys
	// are found in message_keys, whose unique index is the only one on
	// (sender_id, client_msg_id), and their messages by (conversation, seq).
	sqlOriginals = `SELECT m.id, m.conversation_id, m.seq, m.sender_id, '', m.ts, m.text, m.client_msg_id, m.media,
		m.rev, m.edited_at, m.deleted, m.reply_to, m.mentions, m.pinned_at
		FROM unnest($1::text[], $2::text[]) AS k(sender_id, client_msg_id)
		JOIN message_keys mk ON mk.sender_id = k.sender_id AND mk.client_msg_id = k.client_msg_id
		JOIN messages m ON m.conversation_id = mk.conversation_id AND m.seq = mk.seq
		WHERE mk.client_msg_id <> ''`
	sqlInsertMessages = `INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text, client_msg_id, media, reply_to, mentions)
		SELECT c, s, i, u, t, x, k, nullif(md, '')::jsonb, r, mn
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bytea[], $7::text[], $8::text[],
			$9::text[], $10::text[])
			AS v(c, s, i, u, t, x, k, md, r, mn)`
	sqlInsertMentions = `INSERT INTO mentions (conversation_id, user_id, seq)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`
	sqlAdvanceConversations = `UPDATE conversations c SET last_seq = v.seq, last_ts = greatest(c.last_ts, v.ts)
		FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, seq, ts)
		WHERE c.id = v.id`
	sqlAdvanceSenders = `UPDATE members m
		SET read_seq = greatest(m.read_seq, v.seq), delivered_seq = greatest(m.delivered_seq, v.seq)
		FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(conversation_id, user_id, seq)
		WHERE m.conversation_id = v.conversation_id AND m.user_id = v.user_id`
	// Once per sender and conversation ever; after that the primary key
	// finds the row and nothing is written.
	sqlSentInto = `INSERT INTO conversation_senders (sender_id, conversation_id, first_seq)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`
)

// messageColumns selects a message m with its sender's username from u.
const messageColumns = "m.id, m.conversation_id, m.seq, m.sender_id, u.username, m.ts, m.text, m.client_msg_id, m.media, " +
	"m.rev, m.edited_at, m.deleted, m.reply_to, m.mentions, m.pinned_at"

func scanMessage(row pgx.Row) (chat.Message, error) {
	var (
		m           chat.Message
		text, media []byte
		mentions    string
		pinnedAt    int64
	)
	if err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.Sender, &m.TS, &text, &m.ClientMsgID, &media,
		&m.Rev, &m.EditedAt, &m.Deleted, &m.ReplyTo, &mentions, &pinnedAt); err != nil {
		return chat.Message{}, err
	}
	m.Text = string(text)
	if mentions != "" {
		m.Mentions = strings.Fields(mentions)
	}
	m.Pinned = pinnedAt > 0
	if media != nil {
		var md mediaJSON
		if err := json.Unmarshal(media, &md); err != nil {
			return chat.Message{}, fmt.Errorf("message %s: media: %w", m.ID, err)
		}
		m.Media = md.media()
	}
	return m, nil
}

// mediaJSON is the stored form of a message's media, kept apart from
// chat.Media so that renaming a Go field never changes stored data.
type mediaJSON struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	UploaderID  string `json:"uploader_id,omitempty"`
	CreatedAt   int64  `json:"created_at,omitempty"`
}

func (md mediaJSON) media() *chat.Media {
	return &chat.Media{ID: md.ID, ContentType: md.ContentType, Size: md.Size, Width: md.Width,
		Height: md.Height, SHA256: md.SHA256, UploaderID: md.UploaderID, CreatedAt: md.CreatedAt}
}

func encodeMedia(m *chat.Media) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(mediaJSON{ID: m.ID, ContentType: m.ContentType, Size: m.Size, Width: m.Width,
		Height: m.Height, SHA256: m.SHA256, UploaderID: m.UploaderID, CreatedAt: m.CreatedAt})
	return string(b), err
}

// pair is a two-part key: (conversation, user) or (sender, client_msg_id).
type pair struct{ a, b string }

// span is the first and last seq a sender stored in a conversation in one
// batch.
type span struct{ first, last int64 }

// AppendMessages stores a batch in one transaction and sets each Append's
// Result (with its Seq) or Err. Several nodes may append to the same
// conversation at once: each transaction locks the rows of its batch's
// conversations (in id order, so they cannot deadlock) and numbers the
// messages of a conversation after its last seq in the order they were
// submitted. A message whose (SenderID, ClientMsgID) was stored before, by
// any node, or earlier in the same batch, is not stored again: Result is the
// original and Duplicate is true. A sender who is not a member gets
// EForbidden and a missing conversation ENotFound, without failing the
// rest. The returned error is for a batch that failed as a whole; then
// nothing was stored and no Append has a Result. (If the connection breaks
// after the commit was sent, the outcome is unknown and the error is
// EUnavailable; a retry with the same client_msg_id then finds the
// original.)
func (s *Store) AppendMessages(ctx context.Context, batch []*chat.Append) error {
	if len(batch) == 0 {
		return nil
	}
	var err error
	// Retries are rare, so the first attempt does not look for originals of
	// the batch's client_msg_ids: if one exists, the insert hits the unique
	// index, the transaction rolls back, and the next attempt looks.
	lookup := false
	for attempt := 1; attempt <= appendAttempts; attempt++ {
		for _, a := range batch {
			a.Result, a.Duplicate, a.Err, a.PrevTS = chat.Message{}, false, nil, 0
		}
		err = s.appendOnce(ctx, batch, lookup)
		if err == nil {
			s.kickIndexer()
			return nil
		}
		if clientMsgConflict(err) {
			lookup = true
		} else if !retryable(err) {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, a := range batch {
		a.Result, a.Duplicate, a.Err, a.PrevTS = chat.Message{}, false, nil, 0
	}
	return dbErr(err)
}

// clientMsgConflict reports a duplicate (sender, client_msg_id) that was
// stored before, or by another transaction after this one looked: running
// the batch again with lookup finds it and returns it as the original.
func clientMsgConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation &&
		pgErr.ConstraintName == "messages_sender_client_msg_id"
}

// appendOnce runs the append transaction in two round trips: the first
// begins it, locks the conversations and reads the senders' memberships
// (and, with lookup, any originals of the batch's client_msg_ids); the
// second stores the new messages, moves the conversations and the senders'
// positions, and commits.
func (s *Store) appendOnce(ctx context.Context, batch []*chat.Append, lookup bool) (err error) {
	var (
		convIDs              []string
		senderConv, senderID []string
		keySender, keyClient []string
		nameIDs              []string // senders whose username must be read
		seenConv             = make(map[string]bool)
		seenSender           = make(map[pair]bool)
		seenKey              = make(map[pair]bool)
		seenName             = make(map[string]bool)
	)
	for _, a := range batch {
		m := &a.Message
		if !storable(m) {
			continue
		}
		if !seenConv[m.ConversationID] {
			seenConv[m.ConversationID] = true
			convIDs = append(convIDs, m.ConversationID)
		}
		if p := (pair{m.ConversationID, m.SenderID}); !seenSender[p] {
			seenSender[p] = true
			senderConv, senderID = append(senderConv, p.a), append(senderID, p.b)
		}
		if lookup && m.ClientMsgID != "" {
			if p := (pair{m.SenderID, m.ClientMsgID}); !seenKey[p] {
				seenKey[p] = true
				keySender, keyClient = append(keySender, p.a), append(keyClient, p.b)
			}
		}
		// The core names the sender; an original found by lookup needs
		// its name too.
		if (m.Sender == "" || lookup && m.ClientMsgID != "") && !seenName[m.SenderID] {
			seenName[m.SenderID] = true
			nameIDs = append(nameIDs, m.SenderID)
		}
	}
	slices.Sort(convIDs)

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release(conn)

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlLockConversations, convIDs)
	b.Queue(sqlMemberships, senderConv, senderID)
	if len(nameIDs) > 0 {
		b.Queue(sqlUsernames, nameIDs)
	}
	if len(keySender) > 0 {
		b.Queue(sqlOriginals, keySender, keyClient)
	}
	lastSeq := make(map[string]int64, len(convIDs))
	lastTS := make(map[string]int64, len(convIDs))
	member := make(map[pair]bool, len(senderConv))
	names := make(map[string]string, len(nameIDs))
	originals := make(map[pair]chat.Message)
	err = readBatch(ctx, conn, b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, _ := br.Query()
		var (
			id      string
			seq, ts int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &seq, &ts}, func() error {
			lastSeq[id], lastTS[id] = seq, ts
			return nil
		}); err != nil {
			return err
		}
		rows, _ = br.Query()
		var conv, user string
		if _, err := pgx.ForEachRow(rows, []any{&conv, &user}, func() error {
			member[pair{conv, user}] = true
			return nil
		}); err != nil {
			return err
		}
		if len(nameIDs) > 0 {
			rows, _ = br.Query()
			var name string
			if _, err := pgx.ForEachRow(rows, []any{&user, &name}, func() error {
				names[user] = name
				return nil
			}); err != nil {
				return err
			}
		}
		if len(keySender) == 0 {
			return nil
		}
		rows, _ = br.Query()
		ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) { return scanMessage(row) })
		for _, m := range ms {
			m.Sender = names[m.SenderID]
			originals[pair{m.SenderID, m.ClientMsgID}] = m
		}
		return err
	})
	if err != nil {
		return err
	}

	// Number the batch in submission order.
	var (
		ins     insertArrays
		inBatch = make(map[pair]*chat.Append)
		convTS  = make(map[string]int64)
		sent    = make(map[pair]*span) // by (conversation, sender)
	)
	for _, a := range batch {
		m := a.Message
		if !storable(&m) {
			a.Err = chat.Errorf(chat.EBadRequest, "message ids and media fields may not contain NUL")
			continue
		}
		key := pair{m.SenderID, m.ClientMsgID}
		if m.ClientMsgID != "" {
			if orig, ok := originals[key]; ok {
				a.Result, a.Duplicate = orig, true
				continue
			}
			if first, ok := inBatch[key]; ok {
				a.Result, a.Duplicate = first.Result, true
				continue
			}
		}
		last, ok := lastSeq[m.ConversationID]
		if !ok {
			a.Err = chat.Errorf(chat.ENotFound, "no conversation %q", m.ConversationID)
			continue
		}
		if !member[pair{m.ConversationID, m.SenderID}] {
			a.Err = chat.Errorf(chat.EForbidden, "not a member of conversation %q", m.ConversationID)
			continue
		}
		media, err := encodeMedia(m.Media)
		if err != nil {
			return err
		}
		m.Seq = last + 1
		lastSeq[m.ConversationID] = m.Seq
		a.PrevTS = lastTS[m.ConversationID]
		lastTS[m.ConversationID] = max(a.PrevTS, m.TS)
		if m.Sender == "" {
			m.Sender = names[m.SenderID]
		}
		a.Result = m
		if m.ClientMsgID != "" {
			inBatch[key] = a
		}
		ins.add(m, media)
		for _, u := range a.MentionIDs {
			ins.mentionConv, ins.mentionUser, ins.mentionSeq = append(ins.mentionConv, m.ConversationID),
				append(ins.mentionUser, u), append(ins.mentionSeq, m.Seq)
		}
		convTS[m.ConversationID] = max(convTS[m.ConversationID], m.TS)
		if sp := sent[pair{m.ConversationID, m.SenderID}]; sp != nil {
			sp.last = m.Seq
		} else {
			sent[pair{m.ConversationID, m.SenderID}] = &span{first: m.Seq, last: m.Seq}
		}
	}

	b = &pgx.Batch{}
	if len(ins.conv) > 0 {
		b.Queue(sqlInsertMessages, ins.conv, ins.seq, ins.id, ins.sender, ins.ts, ins.text, ins.client, ins.media,
			ins.replyTo, ins.mentions)
		if len(ins.mentionConv) > 0 {
			b.Queue(sqlInsertMentions, ins.mentionConv, ins.mentionUser, ins.mentionSeq)
		}
		var cID []string
		var cSeq, cTS []int64
		for id, ts := range convTS {
			cID, cSeq, cTS = append(cID, id), append(cSeq, lastSeq[id]), append(cTS, ts)
		}
		b.Queue(sqlAdvanceConversations, cID, cSeq, cTS)
		var mConv, mUser []string
		var mSeq, mFirst []int64
		for p, sp := range sent {
			mConv, mUser, mSeq, mFirst = append(mConv, p.a), append(mUser, p.b), append(mSeq, sp.last), append(mFirst, sp.first)
		}
		b.Queue(sqlAdvanceSenders, mConv, mUser, mSeq)
		b.Queue(sqlSentInto, mUser, mConv, mFirst)
	}
	outboxN := s.queueOutbox(b, &ins)
	b.Queue("COMMIT")
	return readBatch(ctx, conn, b, func(br pgx.BatchResults) error {
		if len(ins.conv) > 0 {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if n := tag.RowsAffected(); n != int64(len(ins.conv)) {
				return fmt.Errorf("inserted %d messages of %d", n, len(ins.conv))
			}
			execs := 3
			if len(ins.mentionConv) > 0 {
				execs++
			}
			for range execs + outboxN {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
		}
		_, err := br.Exec()
		return err
	})
}

// storable reports whether the text columns of m can hold its fields: a
// PostgreSQL text or jsonb value cannot contain NUL. (The message text is
// bytea and may.)
func storable(m *chat.Message) bool {
	fields := append([]string{m.ID, m.ConversationID, m.SenderID, m.ClientMsgID, m.ReplyTo}, m.Mentions...)
	if md := m.Media; md != nil {
		fields = append(fields, md.ID, md.ContentType, md.SHA256, md.UploaderID)
	}
	for _, f := range fields {
		if strings.IndexByte(f, 0) >= 0 {
			return false
		}
	}
	return true
}

// insertArrays holds the new messages of a batch column by column.
type insertArrays struct {
	conv, id, sender, client, media, replyTo, mentions []string
	text                                               [][]byte
	seq, ts                                            []int64

	mentionConv, mentionUser []string
	mentionSeq               []int64
}

func (ia *insertArrays) add(m chat.Message, media string) {
	ia.conv = append(ia.conv, m.ConversationID)
	ia.seq = append(ia.seq, m.Seq)
	ia.id = append(ia.id, m.ID)
	ia.sender = append(ia.sender, m.SenderID)
	ia.ts = append(ia.ts, m.TS)
	ia.text = append(ia.text, []byte(m.Text))
	ia.client = append(ia.client, m.ClientMsgID)
	ia.media = append(ia.media, media)
	ia.replyTo = append(ia.replyTo, m.ReplyTo)
	ia.mentions = append(ia.mentions, strings.Join(m.Mentions, " "))
}

// readBatch sends b on conn and lets read consume its results.
func readBatch(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := conn.SendBatch(ctx, b)
	err := read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// release returns conn to the pool, first rolling back a transaction that a
// failed batch left open. A connection that cannot roll back is closed by
// the pool instead of reused.
func release(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
		_, _ = conn.Exec(ctx, "ROLLBACK")
		cancel()
	}
	conn.Release()
}

// Messages returns messages of a conversation in ascending seq order: those
// after q.After, or the newest q.Limit before q.Before, or the newest
// q.Limit. A Limit of 0 means no limit.
func (s *Store) Messages(ctx context.Context, convID string, q chat.HistoryQuery) ([]chat.Message, error) {
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	const from = "SELECT " + messageColumns + " FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.conversation_id = $1"
	var (
		rows pgx.Rows
		err  error
	)
	switch {
	case q.After > 0 || q.Forward || (q.After == 0 && q.Before == 0 && limit == nil):
		rows, err = s.pool.Query(ctx, from+" AND m.seq > $2 ORDER BY m.seq LIMIT $3", convID, q.After, limit)
	case q.Before > 0:
		rows, err = s.pool.Query(ctx, from+" AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3", convID, q.Before, limit)
	default:
		rows, err = s.pool.Query(ctx, from+" ORDER BY m.seq DESC LIMIT $2", convID, limit)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) { return scanMessage(row) })
	if err != nil {
		return nil, dbErr(err)
	}
	if q.After == 0 && !q.Forward && (q.Before > 0 || limit != nil) {
		slices.Reverse(ms)
	}
	if err := withReactions(ctx, s.pool, ms); err != nil {
		return nil, dbErr(err)
	}
	return ms, nil
}

// sqlAdvanceReceipt moves one member's position and returns the state after
// it, or no row when the position was already at or past seq, or seq is
// beyond the conversation's last seq, or the user is not a member.
const sqlAdvanceReceipt = `WITH m AS (
		UPDATE members m SET
			delivered_seq = greatest(m.delivered_seq, $3),
			read_seq = CASE WHEN $4::boolean THEN greatest(m.read_seq, $3) ELSE m.read_seq END
		WHERE m.conversation_id = $1 AND m.user_id = $2
			AND CASE WHEN $4::boolean THEN m.read_seq ELSE m.delivered_seq END < $3
			AND $3 <= (SELECT last_seq FROM conversations WHERE id = $1)
		RETURNING m.*)
	SELECT ` + convColumns + `, c.last_seq, m.read_seq, m.delivered_seq, coalesce(p.username, '')` + stateTail + `
	FROM m
	JOIN conversations c ON c.id = m.conversation_id
	LEFT JOIN users p ON c.kind = 'direct'
		AND p.id = CASE WHEN c.direct_a = m.user_id THEN c.direct_b ELSE c.direct_a END`

// AdvanceReceipt moves the user's delivered or read position forward to seq
// (read moves delivered too) and returns the positions after it. changed is
// false when seq was at or below the current position. EForbidden if the
// user is not a member, ENotFound if the conversation does not exist,
// EBadRequest for an unknown status or a seq beyond the last seq.
// Senders reads the senders of (after, upTo].
func (s *Store) Senders(ctx context.Context, convID string, after, upTo int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT sender_id FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq <= $3`, convID, after, upTo)
	if err != nil {
		return nil, dbErr(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr(err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

func (s *Store) AdvanceReceipt(ctx context.Context, userID, convID, status string, seq int64) (chat.ConversationState, bool, error) {
	if status != chat.StatusDelivered && status != chat.StatusRead {
		return chat.ConversationState{}, false, chat.Errorf(chat.EBadRequest, "status must be delivered or read")
	}
	read := status == chat.StatusRead
	for attempt := 1; ; attempt++ {
		var st chat.ConversationState
		err := s.pool.QueryRow(ctx, sqlAdvanceReceipt, convID, userID, seq, read).Scan(stateDest(&st)...)
		if err == nil {
			return st, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return chat.ConversationState{}, false, dbErr(err)
		}
		// Nothing moved: say why.
		st, err = s.ConversationState(ctx, convID, userID)
		if err != nil {
			return chat.ConversationState{}, false, err
		}
		if seq > st.LastSeq {
			return chat.ConversationState{}, false, chat.Errorf(chat.EBadRequest, "seq %d is beyond the last message (%d)", seq, st.LastSeq)
		}
		pos := st.DeliveredSeq
		if read {
			pos = st.ReadSeq
		}
		if seq <= pos || attempt == 3 {
			return st, false, nil
		}
		// The conversation grew to seq between the two reads, so the update
		// can now apply: try again.
	}
}
