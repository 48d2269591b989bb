package bench

import (
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart is a small line-and-points chart written as SVG: one or more
// series over shared axes with ticks and labels, x linear or log10, y
// linear from 0 (or from below 0 when a value is negative).
type Chart struct {
	Title, XLabel, YLabel string
	LogX                  bool
	Series                []Series
	// Marks are horizontal reference lines, such as a goal.
	Marks []Mark
}

// Mark is a labelled horizontal line at Y.
type Mark struct {
	Y     float64
	Label string
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Points []Point
}

// Point is one measured value; Label, when set, is written beside it.
type Point struct {
	X, Y  float64
	Label string
}

// The chart's layout in pixels.
const (
	chartW, chartH                               = 720.0, 420.0
	chartLeft, chartRight, chartTop, chartBottom = 80.0, 40.0, 50.0, 55.0
)

// scale maps data to pixels.
type scale struct {
	logX                   bool
	xMin, xMax, yMin, yMax float64
}

// px returns the pixel position of x on the x axis.
func (s scale) px(x float64) float64 {
	lo, hi, v := s.xMin, s.xMax, x
	if s.logX {
		lo, hi, v = math.Log10(lo), math.Log10(hi), math.Log10(x)
	}
	return chartLeft + (chartW-chartLeft-chartRight)*(v-lo)/(hi-lo)
}

// py returns the pixel position of y on the y axis.
func (s scale) py(y float64) float64 {
	return chartH - chartBottom - (chartH-chartTop-chartBottom)*(y-s.yMin)/(s.yMax-s.yMin)
}

// newScale fits the axes to the points: a log x axis spans whole decades,
// a linear one runs from 0 to a round number, as does y.
func (c *Chart) newScale() (scale, error) {
	s := scale{logX: c.LogX, xMin: math.Inf(1), xMax: math.Inf(-1)}
	n := 0
	for _, sr := range c.Series {
		for _, p := range sr.Points {
			if math.IsNaN(p.X) || math.IsInf(p.X, 0) || math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
				return s, fmt.Errorf("chart: point (%g, %g) is not a number", p.X, p.Y)
			}
			if c.LogX && p.X <= 0 {
				return s, fmt.Errorf("chart: x %g on a log axis", p.X)
			}
			s.xMin, s.xMax = math.Min(s.xMin, p.X), math.Max(s.xMax, p.X)
			s.yMin, s.yMax = math.Min(s.yMin, p.Y), math.Max(s.yMax, p.Y)
			n++
		}
	}
	if n == 0 {
		return s, errors.New("chart: no points")
	}
	for _, m := range c.Marks {
		if math.IsNaN(m.Y) || math.IsInf(m.Y, 0) {
			return s, fmt.Errorf("chart: mark %g is not a number", m.Y)
		}
		s.yMin, s.yMax = math.Min(s.yMin, m.Y), math.Max(s.yMax, m.Y)
	}
	if c.LogX {
		s.xMin = math.Pow(10, math.Floor(math.Log10(s.xMin)))
		s.xMax = math.Pow(10, math.Ceil(math.Log10(s.xMax)))
		if s.xMax <= s.xMin {
			s.xMax = s.xMin * 10
		}
	} else {
		s.xMin, s.xMax = 0, niceCeil(math.Max(s.xMax, 1e-9))
	}
	if s.yMax > 0 || s.yMin == 0 {
		s.yMax = niceCeil(math.Max(s.yMax, 1e-9))
	}
	if s.yMin < 0 {
		s.yMin = -niceCeil(-s.yMin)
	}
	return s, nil
}

// ticks returns the x axis's tick values.
func (s scale) xTicks() []float64 {
	var t []float64
	if s.logX {
		// Decades; with two decades or fewer, 2 and 5 times each too.
		few := s.xMax/s.xMin <= 100.0001
		for v := s.xMin; v <= s.xMax*1.0001; v *= 10 {
			t = append(t, v)
			for _, m := range []float64{2, 5} {
				if few && v*m < s.xMax {
					t = append(t, v*m)
				}
			}
		}
		return t
	}
	return linearTicks(0, s.xMax)
}

// linearTicks returns lo to hi in five or so round steps through 0 (lo <=
// 0 <= hi).
func linearTicks(lo, hi float64) []float64 {
	step := niceCeil((hi - lo) / 5)
	var t []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-6; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	return t
}

// WriteSVG writes the chart.
func (c *Chart) WriteSVG(w io.Writer) error {
	s, err := c.newScale()
	if err != nil {
		return err
	}
	esc := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="15">%s</text>`+"\n", chartLeft, esc(c.Title))
	x0, x1, y0, y1 := chartLeft, chartW-chartRight, chartH-chartBottom, chartTop
	for _, v := range s.xTicks() {
		x := s.px(v)
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			x, y1, x, y0, x, y0+16, tickLabel(v))
	}
	for _, v := range linearTicks(s.yMin, s.yMax) {
		y := s.py(v)
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0, y, x1, y, x0-6, y+4, tickLabel(v))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x1, y0)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x0, y1)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, chartH-14, esc(c.XLabel))
	mid := (y0 + y1) / 2
	fmt.Fprintf(&b, `<text x="18" y="%.1f" transform="rotate(-90 18 %.1f)" text-anchor="middle">%s</text>`+"\n", mid, mid, esc(c.YLabel))
	for _, m := range c.Marks {
		y := s.py(m.Y)
		fmt.Fprintf(&b, `<line class="mark" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="6 4"/><text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n",
			x0, y, x1, y, x1-4, y-5, esc(m.Label))
	}
	for i, sr := range c.Series {
		color := [...]string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}[i%5]
		pts := make([]string, len(sr.Points))
		for j, p := range sr.Points {
			pts[j] = fmt.Sprintf("%.1f,%.1f", s.px(p.X), s.py(p.Y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		for _, p := range sr.Points {
			fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s</title></circle>`+"\n",
				s.px(p.X), s.py(p.Y), color, esc(fmt.Sprintf("%s: %g, %g", sr.Name, p.X, p.Y)))
			if p.Label != "" {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11">%s</text>`+"\n", s.px(p.X)+6, s.py(p.Y)-8, esc(p.Label))
			}
		}
		ly := chartTop + 4 + float64(i)*16
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="3" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			x0+12, ly, color, x0+32, ly+5, esc(sr.Name))
	}
	b.WriteString("</svg>\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// tickLabel writes a tick value briefly: 10000 as 10k.
func tickLabel(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	switch {
	case v >= 1e6 && math.Mod(v, 1e6) == 0:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3 && math.Mod(v, 1e3) == 0:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", math.Round(v*1e6)/1e6)
}
