package figure

import (
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/internal/heatmap"
)

var square = heatmap.Rect{XMin: -4, XMax: 4, YMin: -4, YMax: 4}

// TestCurvesRanges checks that non-finite points are left out of a curve's
// range, that a reference line below the data widens the y range to show
// it, that a band is left above the data for the legend, and that a fixed
// x range is honoured.
func TestCurvesRanges(t *testing.T) {
	nan := math.NaN()
	c := Curves{
		Title: "t", XLabel: "step", YLabel: "nll",
		Series: []Series{
			{Name: "loss", X: []float64{10, 20, 30, 40}, Y: []float64{5, 4, math.Inf(1), 3}},
			{Name: "test", X: []float64{10, 20, 30, 40}, Y: []float64{nan, 4.5, nan, 3.5}, Dots: true},
		},
		Refs: []Ref{{Name: "floor", Y: 2}},
	}
	p, err := c.Plot()
	if err != nil {
		t.Fatal(err)
	}
	if p.X.Min != 10 || p.X.Max != 40 {
		t.Errorf("x range [%g, %g], want [10, 40]", p.X.Min, p.X.Max)
	}
	// Data and reference span [2, 5]; three legend entries.
	if p.Y.Min > 2 || p.Y.Min < 1.8 {
		t.Errorf("y min %g: want just below the reference line at 2", p.Y.Min)
	}
	if want := 5 + (0.06+0.07*3)*3; math.Abs(p.Y.Max-want) > 1e-12 {
		t.Errorf("y max %g, want %g (room for three legend lines)", p.Y.Max, want)
	}
	c.XMin, c.XMax = 0, 100
	if p, err = c.Plot(); err != nil {
		t.Fatal(err)
	}
	if p.X.Min != 0 || p.X.Max != 100 {
		t.Errorf("fixed x range: got [%g, %g], want [0, 100]", p.X.Min, p.X.Max)
	}
}

func TestCurvesErrors(t *testing.T) {
	if _, err := (Curves{Title: "bad", Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}}).Plot(); err == nil || !strings.Contains(err.Error(), `"s" has 2 x and 1 y`) {
		t.Errorf("mismatched lengths: %v", err)
	}
	if _, err := (Curves{Title: "empty", Series: []Series{{Name: "s", X: []float64{1}, Y: []float64{math.NaN()}}}}).Plot(); err == nil || !strings.Contains(err.Error(), "no finite point") {
		t.Errorf("no finite point: %v", err)
	}
}

// TestNiceTicks checks that the labelled ticks are 5 to 10 multiples of
// one step of the form {1, 2, 5}·10ᵏ, all inside the range.
func TestNiceTicks(t *testing.T) {
	for _, r := range [][2]float64{{0, 1}, {2.8, 4.3}, {20, 150}, {-4, 4}, {0, 0.047}, {1e-6, 3e-6}, {1400, 2013}} {
		var labelled []float64
		for _, tk := range (NiceTicks{}).Ticks(r[0], r[1]) {
			if tk.Value < r[0]-1e-12 || tk.Value > r[1]+1e-12 {
				t.Errorf("%v: tick %g outside the range", r, tk.Value)
			}
			if tk.Label != "" {
				labelled = append(labelled, tk.Value)
			}
		}
		if n := len(labelled); n < 3 || n > 11 {
			t.Errorf("%v: %d labelled ticks %v, want 3 to 11", r, n, labelled)
			continue
		}
		step := labelled[1] - labelled[0]
		m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
		if math.Abs(m-1) > 1e-6 && math.Abs(m-2) > 1e-6 && math.Abs(m-5) > 1e-6 {
			t.Errorf("%v: step %g is not 1, 2 or 5 times a power of ten", r, step)
		}
	}
}

// TestDensityGrid checks that the heat map shows exp(log p) with row 0 of
// heatmap.Grid at the top, that the colour scale runs from 0 to the
// largest density, and that NaN log-densities are an error.
func TestDensityGrid(t *testing.T) {
	const size = 3
	logp := []float64{math.Log(0.5), math.Inf(-1), 0, -1, -2, -3, -4, -5, math.Log(0.25)}
	g, top, err := newDensityGrid("d", logp, square, size)
	if err != nil {
		t.Fatal(err)
	}
	if top != 1 {
		t.Errorf("top of the colour scale %g, want 1 (the largest density is e⁰)", top)
	}
	// Top-left pixel (grid point 0) is column 0, row size-1 from the bottom.
	if z := g.Z(0, size-1); math.Abs(z-0.5) > 1e-15 {
		t.Errorf("top-left density %g, want 0.5", z)
	}
	if z := g.Z(2, 0); math.Abs(z-0.25) > 1e-15 {
		t.Errorf("bottom-right density %g, want 0.25", z)
	}
	if z := g.Z(1, size-1); z != 0 {
		t.Errorf("density at log p = -Inf is %g, want 0", z)
	}
	if x, y := g.X(0), g.Y(size-1); math.Abs(x+8.0/3) > 1e-12 || math.Abs(y-8.0/3) > 1e-12 {
		t.Errorf("top-left cell centre (%g, %g), want (-8/3, 8/3)", x, y)
	}
	logp[4] = math.NaN()
	if _, _, err := Density("d", "p", logp, square, size); err == nil || !strings.Contains(err.Error(), "log p[4]") {
		t.Errorf("NaN log p: error %v", err)
	}
}

func TestViridisMap(t *testing.T) {
	v := NewViridis(0, 2)
	c, err := v.At(2)
	if err != nil || c != color.Color(heatmap.Viridis(1)) {
		t.Errorf("At(max) = %v, %v; want the top of viridis %v", c, err, heatmap.Viridis(1))
	}
	if _, err := v.At(2.5); err == nil {
		t.Error("At above the range: no error")
	}
	if p := v.Palette(5).Colors(); len(p) != 5 || p[0] != color.Color(heatmap.Viridis(0)) {
		t.Errorf("Palette(5) = %v", p)
	}
}

func TestScatterErrors(t *testing.T) {
	if _, err := Scatter("s", []float64{1, 2, 3}, square); err == nil || !strings.Contains(err.Error(), "pairs") {
		t.Errorf("odd length: %v", err)
	}
	if _, err := Scatter("s", []float64{1, 2, math.NaN(), 0}, square); err == nil || !strings.Contains(err.Error(), "point 1") {
		t.Errorf("NaN point: %v", err)
	}
}

// TestRender checks the size of a rendered figure (panel widths, a square
// plus its colour bar by default) and that each panel is drawn: its title
// leaves dark pixels in the top strip of its own third.
func TestRender(t *testing.T) {
	pts := []float64{0, 0, 1, 1, -2, 3}
	a, err := Scatter("left", pts, square)
	if err != nil {
		t.Fatal(err)
	}
	logp := make([]float64, 16)
	d, bar, err := Density("middle", "p(x)", logp, square, 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(200, Panel{Plot: a}, Panel{Plot: d, Bar: bar}, Panel{Plot: a, Width: 300})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 200+290+300 || h != 200 {
		t.Errorf("figure is %d×%d, want %d×200", w, h, 200+290+300)
	}
	for _, x0 := range []int{0, 200, 490} {
		dark := 0
		for y := 0; y < 20; y++ {
			for x := x0; x < x0+200; x++ {
				c := img.RGBAAt(x, y)
				if c.R < 128 && c.G < 128 && c.B < 128 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("no title drawn in the panel at x = %d", x0)
		}
	}
	if _, err := Render(10, Panel{Plot: a}); err == nil {
		t.Error("height 10: no error")
	}
	if _, err := Render(100, Panel{}); err == nil {
		t.Error("panel without a plot: no error")
	}
}
