package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// backup runs "switchboard backup --data DIR --out FILE": a consistent copy
// of the embedded SQLite store, taken while a server keeps writing to it.
// A PostgreSQL cluster is backed up with PostgreSQL's own tools
// (deploy/README.md).
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr(getenv, "SWITCHBOARD_DATA", "./data"), "data directory of the embedded SQLite store (env SWITCHBOARD_DATA)")
	out := fs.String("out", "", "backup file to write; must not exist")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("backup: usage: switchboard backup --data DIR --out FILE")
	}
	if err := sqlite.Backup(ctx, filepath.Join(*data, "switchboard.db"), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *data, *out)
	return nil
}

// restore runs "switchboard restore --data DIR --in FILE": the backup
// becomes the store of a data directory that has none (stop the server
// and move the old directory aside first).
func restore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr(getenv, "SWITCHBOARD_DATA", "./data"), "data directory to restore into; it must hold no store (env SWITCHBOARD_DATA)")
	in := fs.String("in", "", "backup file written by switchboard backup")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *in == "" || fs.NArg() > 0 {
		return errors.New("restore: usage: switchboard restore --data DIR --in FILE")
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := sqlite.Restore(ctx, *in, filepath.Join(*data, "switchboard.db")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *in, *data)
	return nil
}
