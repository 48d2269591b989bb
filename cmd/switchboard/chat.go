package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/mattn/go-isatty"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/tui"
)

// maxPassword is the longest password the server takes, in bytes.
const maxPassword = 256

// chatConfig holds the flags of `switchboard chat`.
type chatConfig struct {
	server       string
	user         string
	passwordFile string
	signup       bool
	device       string
}

// flagSet binds the chat flags; each takes its default from its env twin.
func (c *chatConfig) flagSet(getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	ef := newEnvFlags("chat", getenv, stderr)
	fs, str := ef.FlagSet, ef.str
	str(&c.server, "server", "SWITCHBOARD_SERVER", "http://127.0.0.1:8080", "base URL of a node or of the load balancer")
	str(&c.user, "user", "SWITCHBOARD_USER", "", "username; with --password-file, log in without the form")
	str(&c.passwordFile, "password-file", "SWITCHBOARD_PASSWORD_FILE", "", "file whose first line is the password")
	str(&c.device, "device", "SWITCHBOARD_DEVICE", "terminal", "label of this client's connection")
	fs.BoolVar(&c.signup, "signup", getenv("SWITCHBOARD_SIGNUP") == "1" || getenv("SWITCHBOARD_SIGNUP") == "true",
		"with --user and --password-file: create the account first (one that exists is no error) (env SWITCHBOARD_SIGNUP)")
	return fs
}

// chatCmd runs the full-screen terminal client until the user quits.
func chatCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg chatConfig
	fs := cfg.flagSet(getenv, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("chat takes no arguments, got %q", fs.Args())
	}
	u, err := url.Parse(cfg.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want a base URL such as http://127.0.0.1:8080", cfg.server)
	}
	if cfg.device == "" || len(cfg.device) > 64 {
		return fmt.Errorf("--device must be 1 to 64 bytes")
	}
	password := ""
	if cfg.passwordFile != "" {
		if cfg.user == "" {
			return fmt.Errorf("--password-file needs --user")
		}
		if password, err = readPassword(cfg.passwordFile); err != nil {
			return err
		}
	}
	if cfg.signup && password == "" {
		return fmt.Errorf("--signup needs --user and --password-file")
	}
	if !isatty.IsTerminal(os.Stdin.Fd()) {
		return fmt.Errorf("chat needs a terminal on standard input")
	}

	c := client.New(cfg.server)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := tui.New(ctx, tui.Config{Client: c, Device: cfg.device, User: strings.ToLower(cfg.user),
		Password: password, Signup: cfg.signup})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(stdout))
	_, err = p.Run()
	cancel()
	if c.Token() != "" {
		// The token lives in this process only: end it on the server too.
		lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = c.Logout(lctx)
		lcancel()
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// readPassword returns the first line of the file at path.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	switch {
	case pw == "":
		return "", fmt.Errorf("--password-file %s: the first line is empty", path)
	case len(pw) > maxPassword:
		return "", fmt.Errorf("--password-file %s: password over %d bytes", path, maxPassword)
	}
	return pw, nil
}
