// Package tui is Switchboard's full-screen terminal chat client, built on
// Bubble Tea. It talks to the server only through the public client
// package: HTTP for accounts, conversations, history and members, one
// WebSocket (kept up by a Session) for sending, pushes, receipts, typing
// and presence.
package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Timing of typing indicators: one typing frame per conversation at most
// every typingEvery while keys are pressed; a received indicator shows for
// typingShown unless a newer one or the sender's message replaces it.
const (
	typingEvery = 2 * time.Second
	typingShown = 5 * time.Second
)

// pageSize is how many messages one history request asks for.
const pageSize = 50

// maxInput is the longest line the input takes, in runes; the server
// refuses texts over 4096 bytes with too_large, which shows as a notice.
const maxInput = 4096

// helpLine lists the keys and commands under the status bar.
const helpLine = "Enter send · Tab/S-Tab switch · PgUp/PgDn scroll · /dm USER · /join G · /create G · Ctrl+C quit"

// Config is what the client needs to start.
type Config struct {
	// Client talks to the server; it carries the session token once
	// logged in.
	Client *client.Client
	// Device labels this client's connections.
	Device string
	// User and Password, when both are set, log in without the form (with
	// Signup, create the account first; one that exists is no error).
	User     string
	Password string
	Signup   bool
}

type screen int

const (
	loginScreen screen = iota
	chatScreen
)

// Model is the Bubble Tea model of the whole client.
type Model struct {
	cfg  Config
	ctx  context.Context
	sess *Session

	screen screen
	login  loginForm
	me     string

	convs      convList
	presence   map[string]wire.Presence
	watched    map[string]bool
	typingSent map[string]time.Time

	input  textinput.Model
	width  int
	height int
	conn   ConnStateMsg
	notice string
}

// New returns the model. ctx ends the Session's connection when cancelled.
func New(ctx context.Context, cfg Config) *Model {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "type a message, or /help"
	in.CharLimit = maxInput
	in.Focus()
	return &Model{
		cfg: cfg, ctx: ctx,
		login:      newLoginForm(cfg.User),
		presence:   map[string]wire.Presence{},
		watched:    map[string]bool{},
		typingSent: map[string]time.Time{},
		input:      in,
		width:      80,
		height:     24,
	}
}

// Init logs in at once when the Config carries credentials.
func (m *Model) Init() tea.Cmd {
	if m.cfg.User != "" && m.cfg.Password != "" {
		m.login.busy = true
		return m.authCmd(submit{user: m.cfg.User, pass: m.cfg.Password, signup: m.cfg.Signup})
	}
	return textinput.Blink
}

// sessionMsg wraps what the Session reports, so that handling it also
// asks for the next one.
type sessionMsg struct{ msg tea.Msg }

func (m *Model) waitEvent() tea.Cmd {
	ch := m.sess.Events()
	return func() tea.Msg { return sessionMsg{<-ch} }
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case sessionMsg:
		_, cmd := m.Update(msg.msg)
		return m, tea.Batch(cmd, m.waitEvent())
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlC {
			return m, tea.Quit
		}
		if m.screen == loginScreen {
			sub, cmd := m.login.update(msg)
			if sub != nil {
				return m, m.authCmd(*sub)
			}
			return m, cmd
		}
		return m, m.key(msg)
	case AuthMsg:
		return m, m.authed(msg)
	case ConnStateMsg:
		m.conn = msg
		if msg.State == Online {
			return m, m.resendQueued()
		}
		if msg.State != Syncing {
			// Subscriptions and member lists belong to a connection.
			clear(m.watched)
			for _, c := range m.convs.items {
				c.membersAsks = false
			}
		}
		return m, nil
	case SyncedMsg:
		return m, m.merge(msg.Conversations)
	case ConversationsMsg:
		if msg.Err != nil {
			m.notice = "conversations: " + describe(msg.Err)
			return m, nil
		}
		return m, m.merge(msg.Conversations)
	case FrameMsg:
		return m, m.frame(msg.Frame)
	case HistoryMsg:
		return m, m.history(msg)
	case MembersMsg:
		if c := m.convs.byID(msg.Conversation); c != nil && msg.Err == nil {
			for _, mb := range msg.Members {
				old := c.members[mb.Username]
				mb.DeliveredSeq = max(mb.DeliveredSeq, old.DeliveredSeq)
				mb.ReadSeq = max(mb.ReadSeq, old.ReadSeq)
				c.members[mb.Username] = mb
			}
		}
		return m, nil
	case PresenceMsg:
		if msg.Err != nil {
			clear(m.watched) // ask again with the next sync
			return m, nil
		}
		for _, p := range msg.Presence {
			m.presence[p.User] = p
		}
		return m, nil
	case SentMsg:
		return m, m.sent(msg)
	case sentBatchMsg:
		var cmds []tea.Cmd
		for _, s := range msg {
			cmds = append(cmds, m.sent(s))
		}
		return m, tea.Batch(cmds...)
	case OpenedMsg:
		return m, m.opened(msg)
	case NoticeMsg:
		m.notice = msg.Text
		return m, nil
	case typingExpiredMsg:
		if c := m.convs.byID(msg.conv); c != nil && c.typing[msg.user] == msg.gen {
			delete(c.typing, msg.user)
		}
		return m, nil
	}
	if m.screen == chatScreen {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// authed moves to the chat screen and starts the Session.
func (m *Model) authed(a AuthMsg) tea.Cmd {
	if a.Err != nil {
		m.login.failed(describe(a.Err))
		return nil
	}
	m.me = a.User.Username
	m.screen = chatScreen
	m.sess = NewSession(m.cfg.Client, m.cfg.Device)
	sess, ctx := m.sess, m.ctx
	run := func() tea.Msg {
		sess.Run(ctx)
		return nil
	}
	return tea.Batch(run, m.waitEvent(), m.fetchConversations(), textinput.Blink)
}

// merge takes conversations from a sync or the list call and fetches
// what the selected one and the presence list now need.
func (m *Model) merge(ws []wire.Conversation) tea.Cmd {
	for _, w := range ws {
		m.convs.merge(w)
	}
	return tea.Batch(m.watchPeers(), m.openSelected())
}

// openSelected loads what the selected conversation lacks (its newest
// page, its members) and marks it read.
func (m *Model) openSelected() tea.Cmd {
	c := m.convs.selected()
	if c == nil || c.ID == "" || m.sess == nil {
		return nil
	}
	var cmds []tea.Cmd
	if !c.loaded {
		c.loaded = true
		cmds = append(cmds, m.historyCmd(c.ID, 0))
	}
	if !c.membersAsks && (m.conn.State == Online || m.conn.State == Syncing) {
		c.membersAsks = true
		cmds = append(cmds, m.membersCmd(c.ID))
	}
	cmds = append(cmds, m.markRead(c))
	return tea.Batch(cmds...)
}

// history merges a page of history.
func (m *Model) history(h HistoryMsg) tea.Cmd {
	c := m.convs.byID(h.Conversation)
	if c == nil {
		return nil
	}
	if h.Before > 0 {
		c.loadingOld = false
	}
	if h.Err != nil {
		if h.Before == 0 {
			c.loaded = false
		}
		m.notice = "history: " + describe(h.Err)
		return nil
	}
	c.add(h.Messages...)
	if len(h.Messages) < pageSize && (h.Before > 0 || len(h.Messages) == 0 || h.Messages[0].Seq <= 1) {
		c.complete = true
	}
	return m.markRead(c)
}

// frame handles one pushed frame.
func (m *Model) frame(f wire.ServerFrame) tea.Cmd {
	switch f.Type {
	case wire.TypeMessage:
		return m.message(*f.Msg)
	case wire.TypeReceiptEv:
		c := m.convs.byID(f.Conversation)
		if c == nil {
			return nil
		}
		if f.UserName == m.me {
			// Another of our devices moved our own position.
			if f.Status == "read" {
				c.ReadSeq = max(c.ReadSeq, f.Seq)
			}
			return nil
		}
		c.receipt(f.UserName, f.Status, f.Seq)
	case wire.TypePresence:
		p := wire.Presence{User: f.UserName}
		if f.Online != nil {
			p.Online = *f.Online
		}
		if f.LastSeen != nil {
			p.LastSeen = *f.LastSeen
		}
		m.presence[f.UserName] = p
	case wire.TypeTypingEv:
		c := m.convs.byID(f.Conversation)
		if c == nil || f.UserName == m.me {
			return nil
		}
		c.typing[f.UserName]++
		exp := typingExpiredMsg{conv: c.ID, user: f.UserName, gen: c.typing[f.UserName]}
		return tea.Tick(typingShown, func(time.Time) tea.Msg { return exp })
	case wire.TypeMember:
		if c := m.convs.byID(f.Conversation); c != nil && f.Event == "joined" && f.UserName != m.me {
			if _, ok := c.members[f.UserName]; !ok {
				c.members[f.UserName] = wire.Member{Username: f.UserName}
			}
		} else if c != nil && f.Event == "left" {
			delete(c.members, f.UserName)
		}
	case wire.TypeError:
		m.notice = "server: " + f.Code + ": " + f.Message
	}
	return nil
}

// message adds a pushed message to its conversation.
func (m *Model) message(msg wire.Message) tea.Cmd {
	c := m.convs.byID(msg.Conversation)
	var cmds []tea.Cmd
	if c == nil {
		// A conversation we did not know: someone wrote first, or we were
		// added. Its details come with the list.
		w := wire.Conversation{ID: msg.Conversation}
		if d := m.convs.directWith(msg.From); d != nil && d.ID == "" {
			w.Kind, w.Peer = "direct", msg.From
		}
		c = m.convs.merge(w)
		cmds = append(cmds, m.fetchConversations())
	}
	c.add(msg)
	delete(c.typing, msg.From)
	if msg.From == m.me {
		c.ReadSeq = max(c.ReadSeq, msg.Seq)
	}
	m.convs.touch(c)
	if c == m.convs.selected() {
		cmds = append(cmds, m.markRead(c))
	}
	return tea.Batch(cmds...)
}

// sent takes the answer to one of our sends.
func (m *Model) sent(s SentMsg) tea.Cmd {
	var c *conversation
	for _, x := range m.convs.items {
		for _, l := range x.lines {
			if l.ClientMsgID == s.ClientMsgID && l.Seq == 0 {
				c = x
			}
		}
	}
	if s.Err != nil {
		if c != nil && transient(s.Err) {
			// Sent again, with the same client_msg_id, once connected: if
			// the first try was stored after all, the server says so
			// instead of storing it twice.
			c.queueLocal(s.ClientMsgID)
			m.notice = "offline: queued, sent on reconnect"
			return nil
		}
		if c != nil {
			c.failLocal(s.ClientMsgID)
		}
		m.notice = "not sent: " + describe(s.Err)
		return nil
	}
	if c == nil {
		c = m.convs.byID(s.Message.Conversation)
	}
	if c == nil {
		return nil
	}
	var cmds []tea.Cmd
	if c.ID == "" {
		// The first message of a direct conversation gave it its id.
		wasSel := m.convs.sel == c.key()
		c.ID = s.Message.Conversation
		if wasSel {
			m.convs.sel = c.key()
		}
		c.loaded, c.membersAsks = true, true
		cmds = append(cmds, m.membersCmd(c.ID), m.fetchConversations())
	}
	if strings.HasPrefix(m.notice, "sending ") || strings.HasPrefix(m.notice, "offline: queued") {
		m.notice = ""
	}
	c.dropLocal(s.ClientMsgID)
	c.add(s.Message)
	c.ReadSeq = max(c.ReadSeq, s.Message.Seq)
	m.convs.touch(c)
	return tea.Batch(cmds...)
}

// opened selects a conversation that /dm, /join or /create opened.
func (m *Model) opened(o OpenedMsg) tea.Cmd {
	if o.Err != nil {
		m.notice = describe(o.Err)
		return nil
	}
	w := o.Conversation
	var c *conversation
	switch {
	case w.ID != "":
		c = m.convs.merge(w)
	case m.convs.directWith(w.Peer) != nil:
		c = m.convs.directWith(w.Peer)
	default:
		c = newConversation(w)
		c.loaded, c.complete = true, true
		m.convs.add(c)
	}
	m.convs.touch(c)
	m.convs.sel = c.key()
	m.notice = ""
	return tea.Batch(m.watchPeers(), m.openSelected())
}

// key handles a key on the chat screen.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	view := m.chatView()
	switch k.Type {
	case tea.KeyTab, tea.KeyCtrlN:
		m.convs.move(1)
		m.notice = ""
		return m.openSelected()
	case tea.KeyShiftTab, tea.KeyCtrlP:
		m.convs.move(-1)
		m.notice = ""
		return m.openSelected()
	case tea.KeyPgUp:
		c := m.convs.selected()
		if c == nil {
			return nil
		}
		c.scroll += max(1, view.rows()-1)
		if view.clampScroll(c) && !c.complete && !c.loadingOld && c.ID != "" {
			if old := c.oldest(); old > 1 {
				c.loadingOld = true
				return m.historyCmd(c.ID, old)
			}
		}
		return nil
	case tea.KeyPgDown:
		if c := m.convs.selected(); c != nil {
			c.scroll -= max(1, view.rows()-1)
			view.clampScroll(c)
		}
		return nil
	case tea.KeyEsc:
		m.notice = ""
		return nil
	case tea.KeyEnter:
		text := strings.TrimSpace(m.input.Value())
		if text == "" {
			return nil
		}
		m.input.Reset()
		if strings.HasPrefix(text, "/") {
			return m.command(text)
		}
		return m.send(text)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return tea.Batch(cmd, m.typing(k))
}

func (m *Model) chatView() chatView {
	return chatView{me: m.me, presence: m.presence, width: max(10, m.width-listWidth-1), height: max(3, m.height-4)}
}

// View draws the screen.
func (m *Model) View() string {
	if m.screen == loginScreen {
		return m.login.view(m.cfg.Client.BaseURL(), m.width)
	}
	header := titleStyle.Render("Switchboard") + " · " + m.me + " · " + dimStyle.Render(m.cfg.Client.BaseURL())
	bodyH := max(3, m.height-4)
	list := m.convs.view(m.presence, listWidth, bodyH)
	chat := m.chatView().view(m.convs.selected())
	body := lipgloss.JoinHorizontal(lipgloss.Top, list, " ", chat)
	m.input.Width = max(10, m.width-3)
	help := dimStyle.Render(helpLine)
	return lipgloss.NewStyle().MaxWidth(m.width).Render(
		strings.Join([]string{header, body, m.input.View(), m.status(), help}, "\n"))
}

// status is the status bar: connection state, then the latest notice.
func (m *Model) status() string {
	var s string
	switch m.conn.State {
	case Online:
		s = okStyle.Render("● connected")
	case Syncing:
		s = warnStyle.Render("◐ syncing")
	case Connecting:
		s = warnStyle.Render(fmt.Sprintf("◌ connecting (attempt %d)", max(1, m.conn.Attempt)))
	case Offline:
		s = errStyle.Render("○ offline")
		if m.conn.RetryIn > 0 {
			s += errStyle.Render(fmt.Sprintf(", reconnecting in %s", m.conn.RetryIn.Round(10*time.Millisecond)))
		} else {
			s += errStyle.Render(", reconnecting")
		}
		if e := describe(m.conn.Err); e != "" {
			s += dimStyle.Render(" (" + e + ")")
		}
	case Failed:
		s = errStyle.Render("✗ " + describe(m.conn.Err) + ": restart to log in again")
	default:
		s = dimStyle.Render("○ not connected")
	}
	if m.notice != "" {
		s += " · " + warnStyle.Render(m.notice)
	}
	return s
}
