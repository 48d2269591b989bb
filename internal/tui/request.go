package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// The tea.Cmds that call the server. Each captures what it needs, so it
// runs on its own goroutine while the model goes on.

// authCmd logs in (signing up first when asked).
func (m *Model) authCmd(s submit) tea.Cmd {
	c, ctx := m.cfg.Client, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if s.signup {
			_, err := c.Signup(ctx, s.user, s.pass, "")
			if err != nil && !(client.ErrorCode(err) == "conflict" && m.cfg.Signup) {
				return AuthMsg{Err: err}
			}
		}
		res, err := c.Login(ctx, s.user, s.pass)
		return AuthMsg{User: res.User, Err: err}
	}
}

// watchPeers subscribes to the presence of direct peers not watched yet.
func (m *Model) watchPeers() tea.Cmd {
	var users []string
	for _, c := range m.convs.items {
		if c.Kind == "direct" && c.Peer != "" && !m.watched[c.Peer] {
			users = append(users, c.Peer)
			m.watched[c.Peer] = true
		}
	}
	if len(users) == 0 || m.sess == nil || m.conn.State != Online && m.conn.State != Syncing {
		for _, u := range users {
			delete(m.watched, u)
		}
		return nil
	}
	sess, ctx := m.sess, m.ctx
	return func() tea.Msg {
		ps, err := sess.WatchPresence(ctx, users)
		return PresenceMsg{Presence: ps, Err: err}
	}
}

// markRead moves the read position of c to its last message.
func (m *Model) markRead(c *conversation) tea.Cmd {
	if c.ID == "" || c.LastSeq <= c.ReadSeq || c.LastSeq <= c.readSent || m.sess == nil {
		return nil
	}
	if m.conn.State != Online && m.conn.State != Syncing {
		return nil
	}
	seq := c.LastSeq
	c.readSent = seq
	c.ReadSeq = seq
	sess, ctx, id := m.sess, m.ctx, c.ID
	return func() tea.Msg {
		if err := sess.Read(ctx, id, seq); err != nil {
			return NoticeMsg{Text: "read receipt: " + describe(err)}
		}
		return nil
	}
}

func (m *Model) fetchConversations() tea.Cmd {
	c, ctx := m.cfg.Client, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		cs, err := c.Conversations(ctx)
		return ConversationsMsg{Conversations: cs, Err: err}
	}
}

func (m *Model) historyCmd(conv string, before int64) tea.Cmd {
	c, ctx := m.cfg.Client, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		ms, err := c.Messages(ctx, conv, client.HistoryQuery{Before: before, Limit: pageSize})
		return HistoryMsg{Conversation: conv, Before: before, Messages: ms, Err: err}
	}
}

func (m *Model) membersCmd(conv string) tea.Cmd {
	c, ctx := m.cfg.Client, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		ms, err := c.ConversationMembers(ctx, conv)
		return MembersMsg{Conversation: conv, Members: ms, Err: err}
	}
}

// typing tells the selected conversation that we type, at most once per
// typingEvery.
func (m *Model) typing(k tea.KeyMsg) tea.Cmd {
	c := m.convs.selected()
	if k.Type != tea.KeyRunes && k.Type != tea.KeySpace || c == nil || c.ID == "" || m.sess == nil ||
		strings.HasPrefix(m.input.Value(), "/") || m.conn.State != Online {
		return nil
	}
	now := time.Now()
	if now.Sub(m.typingSent[c.ID]) < typingEvery {
		return nil
	}
	m.typingSent[c.ID] = now
	sess, id := m.sess, c.ID
	return func() tea.Msg {
		_ = sess.Typing(id)
		return nil
	}
}

// send sends text to the selected conversation.
func (m *Model) send(text string) tea.Cmd {
	c := m.convs.selected()
	if c == nil {
		m.notice = "no conversation selected: /dm USER or /join GROUP first"
		return nil
	}
	if m.sess == nil {
		return nil
	}
	id := client.NewClientMsgID()
	c.addLocal(wire.Message{Conversation: c.ID, From: m.me, Text: text, ClientMsgID: id, TS: time.Now().UnixMilli()})
	c.scroll = 0
	delete(m.typingSent, c.ID)
	sess, ctx, conv, peer := m.sess, m.ctx, c.ID, ""
	if conv == "" {
		peer = c.Peer
	}
	return func() tea.Msg {
		msg, err := sess.Send(ctx, conv, peer, id, text)
		return SentMsg{ClientMsgID: id, Message: msg, Err: err}
	}
}

// resendQueued sends the lines queued while offline, one after another in
// the order they were typed.
func (m *Model) resendQueued() tea.Cmd {
	type resend struct{ conv, peer string }
	var to []resend
	var lines []line
	for _, c := range m.convs.items {
		for _, l := range c.takeQueued() {
			r := resend{conv: c.ID}
			if c.ID == "" {
				r.peer = c.Peer
			}
			to = append(to, r)
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 || m.sess == nil {
		return nil
	}
	m.notice = fmt.Sprintf("sending %d queued message(s)", len(lines))
	sess, ctx := m.sess, m.ctx
	return func() tea.Msg {
		out := make(sentBatchMsg, len(lines))
		for i, l := range lines {
			msg, err := sess.Send(ctx, to[i].conv, to[i].peer, l.ClientMsgID, l.Text)
			out[i] = SentMsg{ClientMsgID: l.ClientMsgID, Message: msg, Err: err}
		}
		return out
	}
}

// transient reports whether a send failed for want of a connection (worth
// sending again once connected) rather than by the server's refusal.
func transient(err error) bool {
	code := client.ErrorCode(err)
	return code == "" || code == "unavailable"
}
