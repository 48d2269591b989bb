package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"math"
	"time"

	"github.com/switchboard-chat/switchboard/internal/schema"
)

// migrations holds the schema changes, applied in the order of the number
// that starts each file name (0001_init.sql, 0002_...). Never edit an applied
// migration; add a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, each in its own transaction, the migrations that the
// schema_version table does not list yet.
func migrate(ctx context.Context, db *sql.DB) error {
	return migrateTo(ctx, db, math.MaxInt)
}

// migrateTo is migrate up to version upTo (tests make old databases).
func migrateTo(ctx context.Context, db *sql.DB, upTo int) error {
	ms, err := schema.Load(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("no migrations embedded")
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return err
	}
	var newest int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&newest); err != nil {
		return err
	}
	if known := ms[len(ms)-1].Version; newest > known {
		return fmt.Errorf("the database has schema version %d; this program knows up to %d: run a newer build", newest, known)
	}
	for _, m := range ms {
		if m.Version > upTo {
			break
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m schema.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Checked inside the write transaction, so two processes opening the
	// same new file do not both apply it.
	var applied bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM schema_version WHERE version = ?)", m.Version).Scan(&applied); err != nil {
		return err
	}
	if applied {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}
