package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// TestRunJobs: jobs that share a transaction fail alone, whichever of them
// runs first (the one that runs without a savepoint), and the heaviest
// runs first.
func TestRunJobs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errFail := errors.New("job failed")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	// spec: "+k" inserts k; "-k" inserts k and then fails; "~k" is a job
	// whose caller has given up. A number after it is its weight.
	type spec struct {
		op     string
		weight int
	}
	for _, tc := range []struct {
		name  string
		jobs  []spec
		order []string // which ran, in order
		rows  []string // what is stored after
	}{
		{"all succeed", []spec{{"+a", 1}, {"+b", 1}, {"+c", 1}}, []string{"+a", "+b", "+c"}, []string{"a", "b", "c"}},
		{"the first fails", []spec{{"-x", 1}, {"+a", 1}, {"+b", 1}}, []string{"-x", "+a", "+b"}, []string{"a", "b"}},
		{"a later one fails", []spec{{"+a", 1}, {"-x", 1}, {"+b", 1}}, []string{"+a", "-x", "+b"}, []string{"a", "b"}},
		{"the first two fail", []spec{{"-x", 1}, {"-y", 1}, {"+a", 1}}, []string{"-x", "-y", "+a"}, []string{"a"}},
		{"all fail", []spec{{"-x", 1}, {"-y", 1}}, []string{"-x", "-y"}, nil},
		{"the heaviest runs first", []spec{{"+a", 1}, {"+b", 1}, {"+c", 50}}, []string{"+c", "+b", "+a"}, []string{"a", "b", "c"}},
		{"the heaviest runs first and fails", []spec{{"+a", 1}, {"-x", 50}, {"+b", 1}}, []string{"-x", "+a", "+b"}, []string{"a", "b"}},
		{"a caller gave up", []spec{{"~z", 9}, {"+a", 1}, {"-x", 1}}, []string{"+a", "-x"}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.w.ExecContext(ctx, `DELETE FROM t`); err != nil {
				t.Fatal(err)
			}
			var ran []string
			batch := make([]*job, len(tc.jobs))
			byJob := map[*job]spec{}
			for i, sp := range tc.jobs {
				jctx := ctx
				if sp.op[0] == '~' {
					jctx = cancelled
				}
				batch[i] = &job{ctx: jctx, weight: sp.weight, fn: func(ctx context.Context, tx *sql.Tx) error {
					ran = append(ran, sp.op)
					if _, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (?)`, sp.op[1:]); err != nil {
						return err
					}
					if sp.op[0] == '-' {
						return errFail
					}
					return nil
				}}
				byJob[batch[i]] = sp
			}
			errs := make([]error, len(batch))
			if err := s.runJobs(batch, errs); err != nil {
				t.Fatalf("runJobs: %v", err)
			}
			if !slices.Equal(ran, tc.order) {
				t.Errorf("ran %v; want %v", ran, tc.order)
			}
			for i, j := range batch {
				var want error
				switch byJob[j].op[0] {
				case '-':
					want = errFail
				case '~':
					want = context.Canceled
				}
				if !errors.Is(errs[i], want) {
					t.Errorf("job %s: error %v; want %v", byJob[j].op, errs[i], want)
				}
			}
			rows, err := s.w.QueryContext(ctx, `SELECT k FROM t ORDER BY k`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				got = append(got, k)
			}
			rows.Close()
			if !slices.Equal(got, tc.rows) {
				t.Errorf("stored %v; want %v", got, tc.rows)
			}
		})
	}
}
