package tui

import (
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/switchboard-chat/switchboard/wire"
)

// chatView draws the selected conversation: a header, the messages that
// fit (scrolled up by c.scroll lines), and who is typing.
type chatView struct {
	me       string
	presence map[string]wire.Presence
	width    int
	height   int
}

// rows is how many message lines fit: the header and the typing line
// take two.
func (v chatView) rows() int { return max(1, v.height-2) }

// render wraps every loaded line of c to the view's width.
func (v chatView) render(c *conversation) []string {
	var out []string
	if c.complete && len(c.lines) > 0 {
		out = append(out, dimStyle.Render("── start of the conversation ──"))
	} else if c.loadingOld {
		out = append(out, dimStyle.Render("loading older messages…"))
	} else if c.oldest() > 1 {
		out = append(out, dimStyle.Render("PgUp: older messages"))
	}
	w := max(10, v.width)
	for _, l := range c.lines {
		ts := "     "
		if l.TS > 0 {
			ts = time.UnixMilli(l.TS).Format("15:04")
		}
		who := l.From + ":"
		text := l.Text
		if l.Media != nil {
			text = strings.TrimSpace(text + " [" + l.Media.ContentType + "]")
		}
		s := dimStyle.Render(ts) + " "
		if l.From == v.me {
			tick := c.tick(v.me, l)
			st := dimStyle
			if tick == tickRead {
				st = readStyle
			} else if tick == tickFailed {
				st = errStyle
			}
			s += ownStyle.Render(who) + " " + text + " " + st.Render(tick)
		} else {
			s += titleStyle.Render(who) + " " + text
		}
		out = append(out, strings.Split(lipgloss.NewStyle().Width(w).Render(s), "\n")...)
	}
	return out
}

// clampScroll keeps c.scroll within the loaded lines and reports whether
// the view reached the top of them.
func (v chatView) clampScroll(c *conversation) (atTop bool) {
	total := len(v.render(c))
	maxScroll := max(0, total-v.rows())
	if c.scroll >= maxScroll {
		c.scroll = maxScroll
		atTop = true
	}
	c.scroll = max(0, c.scroll)
	return atTop
}

func (v chatView) view(c *conversation) string {
	if c == nil {
		msg := "No conversation selected. Start one with /dm USER, /join GROUP or /create GROUP."
		return lipgloss.NewStyle().Width(v.width).Height(v.height).Render(dimStyle.Render(msg))
	}
	header := titleStyle.Render(c.label())
	switch {
	case c.Kind == "direct":
		if p, ok := v.presence[c.Peer]; ok && p.Online {
			header += " " + okStyle.Render("● online")
		} else if ok && p.LastSeen > 0 {
			header += " " + dimStyle.Render("○ last seen "+time.UnixMilli(p.LastSeen).Format("Jan 2 15:04"))
		} else {
			header += " " + dimStyle.Render("○ offline")
		}
	case c.Title != "" && c.Title != c.Name:
		header += " " + dimStyle.Render(c.Title)
	}
	lines := v.render(c)
	rows := v.rows()
	end := len(lines) - c.scroll
	end = min(max(end, 0), len(lines))
	start := max(0, end-rows)
	body := lines[start:end]
	if pad := rows - len(body); pad > 0 {
		body = append(make([]string, pad), body...)
	}
	typing := ""
	if len(c.typing) > 0 {
		var who []string
		for u := range c.typing {
			who = append(who, u)
		}
		sort.Strings(who)
		verb := " is typing…"
		if len(who) > 1 {
			verb = " are typing…"
		}
		typing = dimStyle.Render(strings.Join(who, ", ") + verb)
	} else if c.scroll > 0 {
		typing = dimStyle.Render("↑ scrolled back · PgDn: newer")
	}
	out := header + "\n" + strings.Join(body, "\n") + "\n" + typing
	return lipgloss.NewStyle().Width(v.width).MaxWidth(v.width).Height(v.height).MaxHeight(v.height).Render(out)
}
