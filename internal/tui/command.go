package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// command is a parsed slash command from the input line.
type command struct {
	name string // "dm", "join", "create", "quit", "help"
	arg  string
}

// commandHelp lists the commands for the help line and /help.
const commandHelp = "/dm USER · /join GROUP · /create GROUP · /quit"

// parseCommand reads a line that starts with "/". Names are 3 to 32 of
// a-z 0-9 _ . - on the server; they are lower-cased here and the server
// judges the rest.
func parseCommand(s string) (command, error) {
	fields := strings.Fields(strings.TrimPrefix(s, "/"))
	if len(fields) == 0 {
		return command{}, fmt.Errorf("empty command; try %s", commandHelp)
	}
	c := command{name: strings.ToLower(fields[0])}
	switch c.name {
	case "dm", "join", "create":
		if len(fields) != 2 {
			return command{}, fmt.Errorf("usage: /%s NAME", c.name)
		}
		c.arg = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(fields[1], "@"), "#"))
	case "quit", "help":
		if len(fields) != 1 {
			return command{}, fmt.Errorf("usage: /%s", c.name)
		}
	default:
		return command{}, fmt.Errorf("unknown command /%s; try %s", c.name, commandHelp)
	}
	return c, nil
}

// command runs a slash command.
func (m *Model) command(text string) tea.Cmd {
	cmd, err := parseCommand(text)
	if err != nil {
		m.notice = err.Error()
		return nil
	}
	c, ctx := m.cfg.Client, m.ctx
	call := func(f func(context.Context) (wire.Conversation, error)) tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			conv, err := f(ctx)
			return OpenedMsg{Conversation: conv, Err: err}
		}
	}
	switch cmd.name {
	case "quit":
		return tea.Quit
	case "help":
		m.notice = commandHelp
		return nil
	case "dm":
		if cmd.arg == m.me {
			m.notice = "that is you"
			return nil
		}
		if d := m.convs.directWith(cmd.arg); d != nil {
			return m.opened(OpenedMsg{Conversation: d.Conversation})
		}
		peer := cmd.arg
		return call(func(ctx context.Context) (wire.Conversation, error) {
			if _, err := c.User(ctx, peer); err != nil {
				if client.ErrorCode(err) == "not_found" {
					return wire.Conversation{}, fmt.Errorf("no user %q", peer)
				}
				return wire.Conversation{}, err
			}
			return wire.Conversation{Kind: "direct", Peer: peer}, nil
		})
	case "join":
		name := cmd.arg
		return call(func(ctx context.Context) (wire.Conversation, error) {
			conv, err := c.JoinGroup(ctx, name)
			if client.ErrorCode(err) == "not_found" {
				return conv, fmt.Errorf("no group %q (make it with /create %s)", name, name)
			}
			return conv, err
		})
	case "create":
		name := cmd.arg
		return call(func(ctx context.Context) (wire.Conversation, error) {
			conv, err := c.CreateGroup(ctx, name, "")
			if client.ErrorCode(err) == "conflict" {
				return conv, errors.New("group " + name + " exists: /join " + name)
			}
			return conv, err
		})
	}
	return nil
}
