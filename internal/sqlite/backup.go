package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the database file src to dst (which
// must not exist) while servers keep using src: VACUUM INTO reads one
// snapshot of the WAL database and writes a compact copy, so a backup taken
// during writes holds every transaction committed before it started.
func Backup(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists; choose a new file", dst)
	}
	db, err := sql.Open("sqlite", dsn(src, url.Values{"_pragma": {"busy_timeout(10000)"}}))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("sqlite: backup %s: %w", src, translate(err))
	}
	return nil
}

// Restore puts the backup file src in place as the database file dst,
// which must not exist (restore into a fresh data directory, with no
// server running on it). It checks that src is an intact Switchboard
// database first, and writes dst through a temporary file, so a failed
// restore leaves nothing behind.
func Restore(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("sqlite: restore: %s exists; restore into a fresh data directory", dst)
	}
	if err := check(ctx, src); err != nil {
		return fmt.Errorf("sqlite: restore: %s: %w", src, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".restore-*")
	if err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	// Link fails if dst appeared meanwhile, where Rename would replace it.
	if err := os.Link(tmp.Name(), dst); err != nil {
		return fmt.Errorf("sqlite: restore: %w", err)
	}
	return nil
}

// check opens path read-only and verifies it is an intact SQLite database
// holding Switchboard's schema.
func check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"query_only(1)"}}))
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("not a readable SQLite database: %w", err)
	}
	if !strings.EqualFold(res, "ok") {
		return fmt.Errorf("integrity check: %s", res)
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
		return errors.New("not a Switchboard database (no schema_version)")
	}
	return nil
}
