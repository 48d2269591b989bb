package schema_test

import (
	"testing"
	"testing/fstest"

	"github.com/switchboard-chat/switchboard/internal/schema"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr bool
	}{
		{"ordered by number, not name", fstest.MapFS{
			"m/0010_b.sql": {Data: []byte("B")}, "m/0002_a.sql": {Data: []byte("A")}, "m/readme.txt": {},
		}, []int{2, 10}, false},
		{"no number", fstest.MapFS{"m/init.sql": {}}, nil, true},
		{"zero", fstest.MapFS{"m/0000_x.sql": {}}, nil, true},
		{"shared number", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, nil, true},
		{"none", fstest.MapFS{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := schema.Load(tc.files, "m/*.sql")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want error %v", err, tc.wantErr)
			}
			if len(ms) != len(tc.want) {
				t.Fatalf("got %d migrations; want %d", len(ms), len(tc.want))
			}
			for i, m := range ms {
				if m.Version != tc.want[i] {
					t.Errorf("migration %d is version %d; want %d", i, m.Version, tc.want[i])
				}
			}
			if len(ms) == 2 && (ms[0].SQL != "A" || ms[0].Name != "0002_a.sql") {
				t.Errorf("first = %+v", ms[0])
			}
		})
	}
}
