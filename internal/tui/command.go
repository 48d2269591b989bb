package tui

import (
	"fmt"
	"strings"
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
