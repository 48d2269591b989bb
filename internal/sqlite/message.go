package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func scanMessage(row scanner) (chat.Message, error) {
	var m chat.Message
	var md chat.Media
	var mentions string
	var pinnedAt int64
	err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.Sender, &m.TS, &m.Text, &m.ClientMsgID,
		&md.ID, &md.ContentType, &md.Size, &md.Width, &md.Height, &md.SHA256,
		&m.Rev, &m.EditedAt, &m.Deleted, &m.ReplyTo, &mentions, &pinnedAt)
	if md.ID != "" {
		md.UploaderID = m.SenderID
		m.Media = &md
	}
	if mentions != "" {
		m.Mentions = strings.Fields(mentions)
	}
	m.Pinned = pinnedAt > 0
	return m, err
}

// appendTx is the state of one AppendMessages transaction.
type appendTx struct {
	ctx context.Context
	s   *Store

	byClient, conversation, senderName, insert, insertPlain, mention *sql.Stmt

	convs   map[string]*convCursor
	senders map[senderKey]*senderPos
	stored  map[clientKey]*chat.Append // by client id, this batch's messages
}

// convCursor is a conversation's numbering as the batch moves it.
type convCursor struct {
	exists  bool
	lastSeq int64
	lastTS  int64
	dirty   bool
}

type senderKey struct{ conv, user string }

// senderPos is a sender in a conversation: whether it is a member, its
// username, and the lowest and highest seq it sent in this batch.
type senderPos struct {
	member     bool
	username   string
	first, seq int64
}

type clientKey struct{ sender, clientMsgID string }

// AppendMessages stores a batch in one transaction. Each message gets the
// conversation's next seq; a message whose (SenderID, ClientMsgID) was
// stored before, in an earlier call or earlier in this batch, is not stored
// again and gets the original. A sender who is not a member gets EForbidden
// (ENotFound for a conversation that does not exist) on that message only,
// checked before the retry check: one who left cannot send, not even again.
// The sender's read and delivered positions move up to its new message.
// Result.Sender is the sender's username as stored.
func (s *Store) AppendMessages(ctx context.Context, batch []*chat.Append) error {
	for _, a := range batch {
		a.Result, a.Duplicate, a.Err, a.PrevTS = chat.Message{}, false, nil, 0
	}
	err := s.writeWeighted(ctx, len(batch), func(ctx context.Context, tx *sql.Tx) error {
		t := &appendTx{
			ctx:          ctx,
			s:            s,
			byClient:     tx.StmtContext(ctx, s.stmts.wMessageByClient),
			conversation: tx.StmtContext(ctx, s.stmts.wConversation),
			senderName:   tx.StmtContext(ctx, s.stmts.wSenderName),
			insert:       tx.StmtContext(ctx, s.stmts.wInsertMessage),
			insertPlain:  tx.StmtContext(ctx, s.stmts.wInsertPlain),
			mention:      tx.StmtContext(ctx, s.stmts.wInsertMention),
			convs:        make(map[string]*convCursor),
			senders:      make(map[senderKey]*senderPos),
			stored:       make(map[clientKey]*chat.Append),
		}
		for _, a := range batch {
			if err := t.append(a); err != nil {
				return err
			}
		}
		if err := s.outboxAppended(ctx, tx, batch); err != nil {
			return err
		}
		return t.finish(tx)
	})
	if err != nil {
		// Nothing was stored: leave no half-filled results behind.
		for _, a := range batch {
			a.Result, a.Duplicate, a.Err, a.PrevTS = chat.Message{}, false, nil, 0
		}
		return err
	}
	s.kickIndexer()
	return nil
}

// append stores one message. Its error fails the whole batch; an error of
// this message alone goes to a.Err.
func (t *appendTx) append(a *chat.Append) error {
	m := a.Message
	ck := clientKey{m.SenderID, m.ClientMsgID}
	if first, ok := t.stored[ck]; ok && m.ClientMsgID != "" {
		a.Result, a.Duplicate = first.Result, true
		return nil
	}
	conv, err := t.cursor(m.ConversationID)
	if err != nil {
		return err
	}
	if !conv.exists {
		a.Err = chat.Errorf(chat.ENotFound, "no conversation %q", m.ConversationID)
		return nil
	}
	sender, err := t.sender(m.ConversationID, m.SenderID)
	if err != nil {
		return err
	}
	if !sender.member {
		a.Err = chat.Errorf(chat.EForbidden, "not a member of conversation %q", m.ConversationID)
		return nil
	}

	// The insert does nothing if (sender, client id) is taken: then the
	// message is a retry, and the original is looked up. Inserting first
	// saves a lookup on every message that is not a retry, nearly all.
	seq := conv.lastSeq + 1
	var res sql.Result
	if m.Media == nil && m.ReplyTo == "" && len(m.Mentions) == 0 {
		res, err = t.insertPlain.ExecContext(t.ctx, m.ConversationID, seq, m.ID, m.SenderID, m.TS, m.Text, m.ClientMsgID)
	} else {
		var md chat.Media
		if m.Media != nil {
			md = *m.Media
		}
		res, err = t.insert.ExecContext(t.ctx, m.ConversationID, seq, m.ID, m.SenderID, m.TS, m.Text, m.ClientMsgID,
			md.ID, md.ContentType, md.Size, md.Width, md.Height, md.SHA256, m.ReplyTo, strings.Join(m.Mentions, " "))
	}
	if isConstraint(err) {
		// SQLite undid this statement only; the rest of the batch goes on.
		// A taken client id does not fail, so it is the message id.
		a.Err = chat.Errorf(chat.EConflict, "message id %q is taken", m.ID)
		return nil
	} else if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		orig, err := scanMessage(t.byClient.QueryRowContext(t.ctx, m.SenderID, m.ClientMsgID))
		if err != nil {
			return fmt.Errorf("message of a taken client id: %w", err)
		}
		a.Result, a.Duplicate = orig, true
		return nil
	}
	a.PrevTS = conv.lastTS
	for _, u := range a.MentionIDs {
		if _, err := t.mention.ExecContext(t.ctx, m.ConversationID, u, seq); err != nil {
			return err
		}
	}
	conv.lastSeq, conv.lastTS, conv.dirty = seq, max(conv.lastTS, m.TS), true
	if sender.first == 0 {
		sender.first = seq
	}
	sender.seq = seq
	a.Result = m
	a.Result.Seq = seq
	a.Result.Sender = sender.username
	if m.ClientMsgID != "" {
		t.stored[ck] = a
	}
	return nil
}

func (t *appendTx) cursor(convID string) (*convCursor, error) {
	if c, ok := t.convs[convID]; ok {
		return c, nil
	}
	c := &convCursor{exists: true}
	err := t.conversation.QueryRowContext(t.ctx, convID).Scan(&c.lastSeq, &c.lastTS)
	if errors.Is(err, sql.ErrNoRows) {
		c.exists = false
	} else if err != nil {
		return nil, err
	}
	t.convs[convID] = c
	return c, nil
}

func (t *appendTx) sender(convID, userID string) (*senderPos, error) {
	k := senderKey{convID, userID}
	if p, ok := t.senders[k]; ok {
		return p, nil
	}
	p := &senderPos{member: true}
	err := t.senderName.QueryRowContext(t.ctx, convID, userID).Scan(&p.username)
	if errors.Is(err, sql.ErrNoRows) {
		p.member = false
	} else if err != nil {
		return nil, err
	}
	t.senders[k] = p
	return p, nil
}

// finish writes the conversations' new last seq and the senders' positions
// and notes that they sent into the conversation (conversation_senders,
// written once ever), once per conversation and sender rather than once per
// message.
func (t *appendTx) finish(tx *sql.Tx) error {
	setLast := tx.StmtContext(t.ctx, t.s.stmts.wSetLastSeq)
	for id, c := range t.convs {
		if !c.dirty {
			continue
		}
		if _, err := setLast.ExecContext(t.ctx, c.lastSeq, c.lastTS, id); err != nil {
			return err
		}
	}
	move := tx.StmtContext(t.ctx, t.s.stmts.wMoveSender)
	sentInto := tx.StmtContext(t.ctx, t.s.stmts.wSentInto)
	for k, p := range t.senders {
		if p.seq == 0 {
			continue
		}
		if _, err := move.ExecContext(t.ctx, p.seq, p.seq, k.conv, k.user); err != nil {
			return err
		}
		if _, err := sentInto.ExecContext(t.ctx, k.user, k.conv, p.first); err != nil {
			return err
		}
	}
	return nil
}

// Messages returns messages of a conversation in ascending seq order: with
// seq > q.After (the oldest q.Limit of them) when q.Forward or q.After > 0,
// or seq < q.Before (the newest), or the newest q.Limit when both are 0. A Limit of 0 means
// chat.DefaultHistoryPage.
func (s *Store) Messages(ctx context.Context, convID string, q chat.HistoryQuery) ([]chat.Message, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	stmt, newestFirst := s.stmts.messagesAsc, false
	if q.After <= 0 && !q.Forward {
		stmt, newestFirst = s.stmts.messagesDesc, true
	}
	rows, err := stmt.QueryContext(ctx, convID, max(q.After, 0), before, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ms := make([]chat.Message, 0, min(limit, 256))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, translate(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if newestFirst {
		slices.Reverse(ms)
	}
	if err := s.withReactions(ctx, s.r, ms); err != nil {
		return nil, translate(err)
	}
	return ms, nil
}

// AdvanceReceipt moves the user's delivered or read position forward to seq
// (read moves delivered too) and returns the positions after it. changed is
// false when seq was at or below the current position. EBadRequest for an
// unknown status or a seq beyond the last one, EForbidden for a non-member,
// ENotFound for an unknown conversation.
// Senders reads the senders of (after, upTo] on the read pool.
func (s *Store) Senders(ctx context.Context, convID string, after, upTo int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT sender_id FROM messages WHERE conversation_id = ? AND seq > ? AND seq <= ?`, convID, after, upTo)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err())
}

func (s *Store) AdvanceReceipt(ctx context.Context, userID, convID, status string, seq int64) (chat.ConversationState, bool, error) {
	if status != chat.StatusDelivered && status != chat.StatusRead {
		return chat.ConversationState{}, false, chat.Errorf(chat.EBadRequest, "status must be delivered or read")
	}
	// Positions only move forward, so a receipt that changes nothing now
	// changes nothing later either: answer it without the write lock.
	st, err := s.ConversationState(ctx, convID, userID)
	if err != nil {
		return chat.ConversationState{}, false, err
	}
	if seq > st.LastSeq {
		return chat.ConversationState{}, false, chat.Errorf(chat.EBadRequest, "seq %d is beyond the last message (%d)", seq, st.LastSeq)
	}
	if cur := positionOf(st, status); seq <= cur {
		return st, false, nil
	}
	var changed bool
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var res sql.Result
		var err error
		if status == chat.StatusRead {
			res, err = tx.StmtContext(ctx, s.stmts.wReadTo).ExecContext(ctx, seq, seq, convID, userID, seq)
		} else {
			res, err = tx.StmtContext(ctx, s.stmts.wDeliveredTo).ExecContext(ctx, seq, convID, userID, seq)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n == 1
		st, err = scanState(tx.StmtContext(ctx, s.stmts.wState).QueryRowContext(ctx, userID, convID))
		if errors.Is(err, sql.ErrNoRows) {
			// Left the conversation since the check above.
			return s.notMember(ctx, tx, convID)
		}
		return err
	})
	if err != nil {
		return chat.ConversationState{}, false, err
	}
	return st, changed, nil
}

func positionOf(st chat.ConversationState, status string) int64 {
	if status == chat.StatusRead {
		return st.ReadSeq
	}
	return st.DeliveredSeq
}
