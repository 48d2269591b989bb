package bench_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bench"
)

// circle is a plotted point read back from the SVG.
type circle struct{ cx, cy float64 }

// parseSVG checks the document is well-formed XML with an svg root and
// returns its points in document order and its text.
func parseSVG(t *testing.T, b []byte) ([]circle, string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var pts []circle
	var text strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
			if el.Name.Local != "circle" {
				continue
			}
			var c circle
			for _, a := range el.Attr {
				v, _ := strconv.ParseFloat(a.Value, 64)
				switch a.Name.Local {
				case "cx":
					c.cx = v
				case "cy":
					c.cy = v
				}
			}
			pts = append(pts, c)
		case xml.CharData:
			text.Write(el)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return pts, text.String()
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.2 }

func TestChartLogX(t *testing.T) {
	ch := &bench.Chart{Title: `fan-out <cost> & "more"`, XLabel: "members", YLabel: "µs", LogX: true,
		Series: []bench.Series{{Name: "server", Points: []bench.Point{{X: 10, Y: 2}, {X: 100, Y: 4}, {X: 1000, Y: 8}, {X: 10000, Y: 0}}}}}
	var b bytes.Buffer
	if err := ch.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	pts, text := parseSVG(t, b.Bytes())
	if len(pts) != 4 {
		t.Fatalf("%d points, want 4", len(pts))
	}
	// Decades are equally spaced on a log axis.
	step := pts[1].cx - pts[0].cx
	if step <= 0 || !near(pts[2].cx-pts[1].cx, step) || !near(pts[3].cx-pts[2].cx, step) {
		t.Errorf("x positions %v: want equal steps per decade", pts)
	}
	// y is linear from 0: 4 sits twice as far above the axis (y of the
	// 0 point) as 2, and 8 four times.
	base := pts[3].cy
	h2, h4, h8 := base-pts[0].cy, base-pts[1].cy, base-pts[2].cy
	if h2 <= 0 || !near(h4, 2*h2) || !near(h8, 4*h2) {
		t.Errorf("heights above the axis %.1f %.1f %.1f: want 1:2:4", h2, h4, h8)
	}
	for _, want := range []string{`fan-out <cost> & "more"`, "members", "10k", "1k"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	if strings.Contains(text, "-0") {
		t.Errorf("text %q has a -0 tick", text)
	}
}

func TestChartLinearAndNegative(t *testing.T) {
	ch := &bench.Chart{Series: []bench.Series{
		{Name: "a", Points: []bench.Point{{X: 0, Y: -3}, {X: 50, Y: 0}, {X: 100, Y: 9}}},
		{Name: "b", Points: []bench.Point{{X: 25, Y: 1, Label: "one"}}},
	}}
	var b bytes.Buffer
	if err := ch.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	pts, text := parseSVG(t, b.Bytes())
	if len(pts) != 4 {
		t.Fatalf("%d points, want 4", len(pts))
	}
	// Linear x from 0: 25 is a quarter of the way from 0 to 100.
	if !near(pts[3].cx-pts[0].cx, (pts[2].cx-pts[0].cx)/4) || !near(pts[1].cx-pts[0].cx, (pts[2].cx-pts[0].cx)/2) {
		t.Errorf("x positions %v: want linear", pts)
	}
	// Below zero plots below the zero point, above above it.
	if !(pts[0].cy > pts[1].cy && pts[1].cy > pts[3].cy && pts[3].cy > pts[2].cy) {
		t.Errorf("y positions %v: want -3 below 0 below 1 below 9", pts)
	}
	if !strings.Contains(text, "one") {
		t.Errorf("label missing from %q", text)
	}
}

func TestChartBadInput(t *testing.T) {
	for name, ch := range map[string]bench.Chart{
		"no points":  {},
		"empty":      {Series: []bench.Series{{Name: "a"}}},
		"log x zero": {LogX: true, Series: []bench.Series{{Points: []bench.Point{{X: 0, Y: 1}}}}},
		"NaN":        {Series: []bench.Series{{Points: []bench.Point{{X: 1, Y: math.NaN()}}}}},
		"Inf":        {Series: []bench.Series{{Points: []bench.Point{{X: math.Inf(1), Y: 1}}}}},
	} {
		var b bytes.Buffer
		if err := ch.WriteSVG(&b); err == nil {
			t.Errorf("%s: no error", name)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, b.Len())
		}
	}
}

func TestChartFewDecadesAndMark(t *testing.T) {
	ch := &bench.Chart{LogX: true, Marks: []bench.Mark{{Y: 100, Label: "goal 100 ms"}},
		Series: []bench.Series{{Name: "p99", Points: []bench.Point{{X: 20000, Y: 50}, {X: 40000, Y: 70}}}}}
	var b bytes.Buffer
	if err := ch.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	pts, text := parseSVG(t, b.Bytes())
	// Within one decade the axis has 2x and 5x ticks; the mark widens y
	// to include it.
	for _, want := range []string{"10k", "20k", "50k", "100k", "goal 100 ms"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	if !strings.Contains(b.String(), `class="mark"`) || len(pts) != 2 {
		t.Errorf("want a mark line and 2 points: %s", b.String())
	}
}
