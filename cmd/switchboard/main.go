// Command switchboard is the Switchboard chat server and its tools.
//
//	switchboard serve            run a node (embedded SQLite by default)
//	switchboard bench SCENARIO   run the load generator against nodes
//	switchboard chat             chat from a full-screen terminal client
//	switchboard admin            operator commands (see admin.go)
//	switchboard backup, restore  the embedded SQLite store's backups
//	switchboard version          print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

const usage = `Switchboard is a distributed chat server.

Usage:
  switchboard serve [flags]            run a node; with no flags, one node on an
                                       embedded SQLite store in ./data
  switchboard bench SCENARIO [flags]   run the load generator (see: switchboard bench -h)
  switchboard chat [--server URL]      chat from a full-screen terminal client
  switchboard admin COMMAND            operators: grant the admin role, users, suspend, stats, audit
  switchboard backup --data DIR --out FILE   copy the embedded SQLite store while it serves
  switchboard restore --data DIR --in FILE   put a backup in place in a fresh data directory
  switchboard version                  print the version

Run "switchboard COMMAND -h" for a command's flags.
`

// run is the whole program: main only supplies the process's context,
// arguments, environment and output streams, so tests can call it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], getenv, stdout, stderr)
	case "chat":
		return chatCmd(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], getenv, stdout, stderr)
	case "restore":
		return restore(ctx, args[1:], getenv, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "switchboard", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
