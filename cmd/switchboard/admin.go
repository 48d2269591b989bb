package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/chat"
)

const adminUsage = `Usage:
  switchboard admin grant USER  [--data DIR | --postgres URL]   give USER the admin role (on the store directly)
  switchboard admin revoke USER [--data DIR | --postgres URL]   take it away
  switchboard admin partitions --postgres URL [--shard URL ...] [--archive-before|--drop-before YYYY-MM]
                                list, make and retire the monthly partitions of messages

  switchboard admin [--server URL] [--token-file FILE] COMMAND  (calls the admin API; token also from SWITCHBOARD_TOKEN)
    users [QUERY]                 list or search users
    suspend USER | unsuspend USER suspend (ends their sessions everywhere) or lift it
    logout USER                   end every session of USER
    delete-message CONV SEQ [REASON]  remove a message's text and media
    delete-group NAME             delete a group with its messages
    stats                         node and cluster figures
    audit [LIMIT]                 the audit log, newest first
`

// admin runs "switchboard admin": grant and revoke on the store, the rest
// through the admin API with an admin's token.
func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "grant" || args[0] == "revoke") {
		return adminGrant(ctx, args[0] == "grant", args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "partitions" {
		return adminPartitions(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage) }
	server := fs.String("server", envOr(getenv, "SWITCHBOARD_SERVER", "http://127.0.0.1:8080"), "base URL of a node (env SWITCHBOARD_SERVER)")
	tokenFile := fs.String("token-file", "", "file whose first line is an admin's token (else env SWITCHBOARD_TOKEN)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	token := getenv("SWITCHBOARD_TOKEN")
	if *tokenFile != "" {
		t, err := readPassword(*tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		token = t
	}
	if token == "" {
		return errors.New("admin: no token: log in as an admin and pass --token-file or SWITCHBOARD_TOKEN")
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: no command given")
	}
	c := client.New(*server).WithToken(token)
	out, err := adminCall(ctx, c, rest[0], rest[1:])
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func adminCall(ctx context.Context, c *client.Client, cmd string, args []string) (any, error) {
	want := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("admin %s: needs %d argument(s); see switchboard admin -h", cmd, n)
		}
		return nil
	}
	switch cmd {
	case "users":
		q := ""
		if len(args) > 0 {
			q = args[0]
		}
		return c.AdminUsers(ctx, q, "", 0)
	case "suspend", "unsuspend":
		if err := want(1); err != nil {
			return nil, err
		}
		return c.Suspend(ctx, args[0], cmd == "suspend")
	case "logout":
		if err := want(1); err != nil {
			return nil, err
		}
		n, err := c.ForceLogout(ctx, args[0])
		return map[string]int{"sessions_ended": n}, err
	case "delete-message":
		if err := want(2); err != nil {
			return nil, err
		}
		seq, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("admin delete-message: SEQ %q is not a number", args[1])
		}
		return c.AdminDeleteMessage(ctx, args[0], seq, strings.Join(args[2:], " "))
	case "delete-group":
		if err := want(1); err != nil {
			return nil, err
		}
		return map[string]string{"deleted": args[0]}, c.AdminDeleteGroup(ctx, args[0])
	case "stats":
		return c.Stats(ctx)
	case "audit":
		limit := 0
		if len(args) > 0 {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return nil, fmt.Errorf("admin audit: LIMIT %q is not a number", args[0])
			}
			limit = n
		}
		return c.Audit(ctx, "", limit)
	}
	return nil, fmt.Errorf("admin: unknown command %q; see switchboard admin -h", cmd)
}

// adminGrant gives or takes the admin role on the store itself, with the
// same --data and --postgres flags as serve: the first admin needs no API.
func adminGrant(ctx context.Context, grant bool, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "grant"
	if !grant {
		name = "revoke"
	}
	fs := flag.NewFlagSet("admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serveConfig
	fs.StringVar(&cfg.data, "data", envOr(getenv, "SWITCHBOARD_DATA", "./data"), "data directory of the embedded SQLite store (env SWITCHBOARD_DATA)")
	fs.StringVar(&cfg.postgres, "postgres", getenv("SWITCHBOARD_POSTGRES"), "PostgreSQL URL; empty means the embedded SQLite store (env SWITCHBOARD_POSTGRES)")
	// Flags may come after the user name too.
	var user string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		user, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if user == "" && fs.NArg() > 0 {
		user = fs.Arg(0)
	}
	if user == "" || fs.NArg() > 1 {
		return fmt.Errorf("admin %s: give exactly one USER", name)
	}
	if cfg.postgres == "" {
		if _, err := os.Stat(cfg.data); err != nil {
			return fmt.Errorf("admin %s: --data %s: %w", name, cfg.data, err)
		}
	}
	store, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := chat.GrantAdmin(ctx, store, user, grant, newIDs()(), time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("admin %s %s: %w", name, user, err)
	}
	if grant {
		fmt.Fprintf(stdout, "%s is now an admin\n", strings.ToLower(user))
	} else {
		fmt.Fprintf(stdout, "%s is no longer an admin\n", strings.ToLower(user))
	}
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
