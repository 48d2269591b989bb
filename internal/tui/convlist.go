package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/switchboard-chat/switchboard/wire"
)

// listWidth is the width of the conversation list, border included.
const listWidth = 26

// convList is the conversation list: most recently active first, with one
// selected.
type convList struct {
	items []*conversation
	sel   string // key of the selected conversation
}

// byID returns the conversation with id, or nil.
func (l *convList) byID(id string) *conversation {
	for _, c := range l.items {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// byKey returns the conversation with key k (an id or "@peer"), or nil.
func (l *convList) byKey(k string) *conversation {
	for _, c := range l.items {
		if c.key() == k {
			return c
		}
	}
	return nil
}

// directWith returns the direct conversation with peer, or nil.
func (l *convList) directWith(peer string) *conversation {
	for _, c := range l.items {
		if c.Kind == "direct" && c.Peer == peer {
			return c
		}
	}
	return nil
}

// merge takes the server's view of a conversation, adding it at the end
// when new. A direct conversation opened locally gets its id here.
func (l *convList) merge(w wire.Conversation) *conversation {
	c := l.byID(w.ID)
	if c == nil && w.Kind == "direct" {
		if d := l.directWith(w.Peer); d != nil && d.ID == "" {
			wasSel := l.sel == d.key()
			c = d
			c.ID = w.ID
			if wasSel {
				l.sel = c.key()
			}
		}
	}
	if c == nil {
		c = newConversation(w)
		l.items = append(l.items, c)
	}
	c.update(w)
	if l.sel == "" {
		l.sel = c.key()
	}
	return c
}

// add puts a new conversation at the top.
func (l *convList) add(c *conversation) {
	l.items = append([]*conversation{c}, l.items...)
	if l.sel == "" {
		l.sel = c.key()
	}
}

// touch moves c to the top: it just had a message.
func (l *convList) touch(c *conversation) {
	for i, x := range l.items {
		if x == c {
			copy(l.items[1:i+1], l.items[:i])
			l.items[0] = c
			return
		}
	}
}

// selected returns the selected conversation, or nil when there is none.
func (l *convList) selected() *conversation {
	if l.sel == "" {
		return nil
	}
	return l.byKey(l.sel)
}

// move selects the conversation delta places down (negative: up),
// wrapping around.
func (l *convList) move(delta int) {
	n := len(l.items)
	if n == 0 {
		return
	}
	i := 0
	for j, c := range l.items {
		if c.key() == l.sel {
			i = j
		}
	}
	l.sel = l.items[((i+delta)%n+n)%n].key()
}

// view draws the list in width x height.
func (l *convList) view(presence map[string]wire.Presence, width, height int) string {
	inner := width - 1
	rows := []string{titleStyle.Render("Conversations")}
	if len(l.items) == 0 {
		rows = append(rows, dimStyle.Render("none yet: /dm USER"), dimStyle.Render("or /join GROUP"))
	}
	for _, c := range l.items {
		mark := " "
		if c.Kind == "direct" {
			mark = "○"
			if p, ok := presence[c.Peer]; ok && p.Online {
				mark = okStyle.Render("●")
			}
		}
		name := c.label()
		count := ""
		if n := c.unread(); n > 0 && c.key() != l.sel {
			count = fmt.Sprintf("(%d)", n)
		}
		room := inner - 3 - lipgloss.Width(count)
		if lipgloss.Width(name) > room {
			name = truncate(name, room)
		}
		pad := strings.Repeat(" ", max(0, inner-2-lipgloss.Width(name)-lipgloss.Width(count)))
		row := mark + " " + name + pad + unreadStyle.Render(count)
		if c.key() == l.sel {
			row = selectedStyle.Render(mark + " " + name + pad + count)
		}
		rows = append(rows, row)
	}
	if len(rows) > height {
		rows = rows[:height]
	}
	return borderStyle.Width(inner).Height(height).MaxHeight(height).Render(strings.Join(rows, "\n"))
}

// truncate cuts s to at most n cells, marking the cut with "…".
func truncate(s string, n int) string {
	if n <= 1 {
		return "…"
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > n {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
