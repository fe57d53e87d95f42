// Package figure draws the programs' pictures with gonum.org/v1/plot:
// training curves with axes, ticks, labels, a legend and reference lines;
// 2-D densities as heat maps with a colour bar; point clouds as scatter
// plots. Every plot has a title, so a picture can be read without the
// README beside it.
//
// The plot builders (Curves, Scatter, Density) return *plot.Plot values
// that Render lays out side by side on one raster image; SavePNG in
// internal/heatmap writes the result atomically.
package figure

import (
	"image"
	"image/color"
	"math"
	"strconv"

	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution Render draws at: one vg point is DPI/72 pixels.
const DPI = 96

// px converts pixels at DPI to a vg length.
func px(n int) vg.Length { return vg.Length(n) * vg.Inch / DPI }

// A Series is one curve of a line plot: Y[i] is drawn at X[i]. Points with
// a non-finite X or Y are left out (a metric that was not evaluated at
// that step, say), and the curve joins the points that remain.
type Series struct {
	Name string    // legend entry
	X, Y []float64 // equal lengths
	Dots bool      // mark each point too (sparse series such as evaluations)
}

// A Ref is a horizontal reference line, such as a target or the entropy
// floor of the data, drawn dashed across the plot with a legend entry.
type Ref struct {
	Name string
	Y    float64
}

// Curves describes a line plot of one or more series against a common x
// axis (the training step, usually).
type Curves struct {
	Title, XLabel, YLabel string
	Series                []Series
	Refs                  []Ref
	// XMin, XMax fix the x range (to line up with another plot, say) when
	// XMin < XMax; otherwise it is that of the data.
	XMin, XMax float64
}

// Plot builds the line plot. It returns an error when a series has X and Y
// of different lengths or when no series has a finite point.
func (c Curves) Plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Y.Tick.Marker = NiceTicks{}
	p.X.Tick.Marker = NiceTicks{}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	entries := 0
	for i, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return nil, errors.Errorf("figure: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		var xys plotter.XYs
		for k := range s.X {
			if finite(s.X[k]) && finite(s.Y[k]) {
				xys = append(xys, plotter.XY{X: s.X[k], Y: s.Y[k]})
				xmin, xmax = math.Min(xmin, s.X[k]), math.Max(xmax, s.X[k])
				ymin, ymax = math.Min(ymin, s.Y[k]), math.Max(ymax, s.Y[k])
			}
		}
		if len(xys) == 0 {
			continue
		}
		col := plotutil.Color(i)
		var thumbs []plot.Thumbnailer
		if len(xys) > 1 {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, errors.Wrapf(err, "figure: series %q", s.Name)
			}
			l.Color, l.Width = col, vg.Points(1.5)
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Dots || len(xys) == 1 {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, errors.Wrapf(err, "figure: series %q", s.Name)
			}
			sc.Color, sc.Shape, sc.Radius = col, draw.CircleGlyph{}, vg.Points(2.5)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		p.Legend.Add(s.Name, thumbs...)
		entries++
	}
	if xmin > xmax {
		return nil, errors.Errorf("figure: %q has no finite point to plot", c.Title)
	}
	if c.XMin < c.XMax {
		xmin, xmax = c.XMin, c.XMax
		p.X.Min, p.X.Max = xmin, xmax
	}
	for i, r := range c.Refs {
		if !finite(r.Y) {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: r.Y}, {X: xmax, Y: r.Y}})
		if err != nil {
			return nil, errors.Wrapf(err, "figure: reference line %q", r.Name)
		}
		l.Color = refColor(i)
		l.Width = vg.Points(1.2)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(r.Name, l)
		entries++
		ymin, ymax = math.Min(ymin, r.Y), math.Max(ymax, r.Y)
	}
	// Leave a band above the data for the legend, one line per entry.
	if span := ymax - ymin; span > 0 {
		p.Y.Min = ymin - 0.03*span
		p.Y.Max = ymax + (0.06+0.07*float64(entries))*span
	}
	return p, nil
}

// NiceTicks marks an axis with 5 to 10 labelled ticks at multiples of 1, 2
// or 5 times a power of ten, and unlabelled ticks halfway between.
type NiceTicks struct{}

// Ticks implements plot.Ticker.
func (NiceTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || !finite(max-min) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	step := NiceStep(max-min, 5)
	var ts []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+1e-9*step; v += step {
		if math.Abs(v) < 1e-9*step {
			v = 0
		}
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
		if h := v + step/2; h <= max {
			ts = append(ts, plot.Tick{Value: h})
		}
	}
	return ts
}

// NiceStep returns the smallest of 1, 2 or 5 times a power of ten that
// divides span into at most 2·least intervals (and at least least/2).
func NiceStep(span float64, least int) float64 {
	raw := span / float64(least)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// refColor is the colour of reference line i: dark grey, then red.
func refColor(i int) color.Color {
	if i%2 == 0 {
		return color.RGBA{R: 0x40, G: 0x40, B: 0x40, A: 0xff}
	}
	return color.RGBA{R: 0xc0, G: 0x20, B: 0x20, A: 0xff}
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Scatter builds a scatter plot of 2-D points (row-major n×2, x then y)
// over bounds, with the axes labelled x₁ and x₂ and an equal scale on both.
// Points are drawn small and translucent so that dense regions read as
// darker. Points outside bounds are not drawn; a NaN point is an error,
// since it means a broken model.
func Scatter(title string, points []float64, bounds heatmap.Rect) (*plot.Plot, error) {
	if err := bounds.Validate(); err != nil {
		return nil, err
	}
	if len(points)%2 != 0 {
		return nil, errors.Errorf("figure: %q: %d values, want (x, y) pairs", title, len(points))
	}
	xys := make(plotter.XYs, 0, len(points)/2)
	for i := 0; i < len(points); i += 2 {
		x, y := points[i], points[i+1]
		if math.IsNaN(x) || math.IsNaN(y) {
			return nil, errors.Errorf("figure: %q: point %d = (%v, %v) is NaN", title, i/2, x, y)
		}
		if x >= bounds.XMin && x <= bounds.XMax && y >= bounds.YMin && y <= bounds.YMax {
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
	}
	p := planePlot(title, bounds)
	if len(xys) > 0 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, errors.Wrapf(err, "figure: %q", title)
		}
		// Alpha falls with the number of points so 20,000 points do not
		// saturate into a solid blob.
		a := uint8(math.Max(60, math.Min(220, 1.2e6/float64(len(xys)))))
		sc.Color = color.NRGBA{R: 0x20, G: 0x40, B: 0xa0, A: a}
		sc.Shape, sc.Radius = draw.CircleGlyph{}, vg.Points(0.9)
		p.Add(sc)
	}
	return p, nil
}

// planePlot returns a titled plot of the data plane fixed to bounds.
func planePlot(title string, bounds heatmap.Rect) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = "x₁"
	p.Y.Label.Text = "x₂"
	p.X.Min, p.X.Max = bounds.XMin, bounds.XMax
	p.Y.Min, p.Y.Max = bounds.YMin, bounds.YMax
	p.X.Tick.Marker, p.Y.Tick.Marker = NiceTicks{}, NiceTicks{}
	return p
}

// densityGrid is a heatmap.Grid of log p values as a plotter.GridXYZ of
// densities exp(log p).
type densityGrid struct {
	p      []float64 // row-major, row 0 at the top (YMax), as heatmap.Grid
	size   int
	bounds heatmap.Rect
}

func (g densityGrid) Dims() (c, r int) { return g.size, g.size }

// Z returns the density of column c, row r counted from the bottom.
func (g densityGrid) Z(c, r int) float64 { return g.p[(g.size-1-r)*g.size+c] }

func (g densityGrid) X(c int) float64 {
	return g.bounds.XMin + (float64(c)+0.5)*(g.bounds.XMax-g.bounds.XMin)/float64(g.size)
}

func (g densityGrid) Y(r int) float64 {
	return g.bounds.YMin + (float64(r)+0.5)*(g.bounds.YMax-g.bounds.YMin)/float64(g.size)
}

// Density builds a heat map of the density exp(logp) over bounds, where
// logp[k] is the log-density at point k of heatmap.Grid(bounds, size),
// coloured by viridis from 0 to the largest density, and a colour bar
// labelled barLabel for that range. Render the two together as
// Panel{Plot: main, Bar: bar}. -Inf entries mean zero density; NaN or +Inf
// entries are an error naming the index.
func Density(title, barLabel string, logp []float64, bounds heatmap.Rect, size int) (main, bar *plot.Plot, err error) {
	g, top, err := newDensityGrid(title, logp, bounds, size)
	if err != nil {
		return nil, nil, err
	}
	cm := NewViridis(0, top)
	hm := plotter.NewHeatMap(g, cm.Palette(256))
	hm.Min, hm.Max = 0, top
	hm.Rasterized = true
	main = planePlot(title, bounds)
	main.Add(hm)
	bar = plot.New()
	bar.Title.Text = barLabel
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Tick.Marker = NiceTicks{}
	return main, bar, nil
}

// newDensityGrid converts log-densities on heatmap.Grid(bounds, size) to
// densities and returns them with the largest density (1 when all are 0),
// the top of the colour scale.
func newDensityGrid(title string, logp []float64, bounds heatmap.Rect, size int) (densityGrid, float64, error) {
	if err := bounds.Validate(); err != nil {
		return densityGrid{}, 0, err
	}
	if size < 2 || len(logp) != size*size {
		return densityGrid{}, 0, errors.Errorf("figure: %q: %d log-densities for a %d×%d grid", title, len(logp), size, size)
	}
	g := densityGrid{p: make([]float64, len(logp)), size: size, bounds: bounds}
	top := 0.0
	for i, v := range logp {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			return densityGrid{}, 0, errors.Errorf("figure: %q: log p[%d] = %v", title, i, v)
		}
		g.p[i] = math.Exp(v)
		top = math.Max(top, g.p[i])
	}
	if top == 0 {
		top = 1
	}
	return g, top, nil
}

// Viridis is the viridis colour map of heatmap.Viridis as a
// palette.ColorMap over [Min, Max], for heat maps and colour bars.
type Viridis struct{ min, max, alpha float64 }

// NewViridis returns the map over [min, max], opaque.
func NewViridis(min, max float64) *Viridis { return &Viridis{min: min, max: max, alpha: 1} }

// At returns the colour of v; values outside [Min, Max] are an error.
func (v *Viridis) At(x float64) (color.Color, error) {
	if !(x >= v.min && x <= v.max) {
		return nil, errors.Errorf("figure: %v outside the colour map's range [%v, %v]", x, v.min, v.max)
	}
	t := 0.0
	if v.max > v.min {
		t = (x - v.min) / (v.max - v.min)
	}
	return v.color(t), nil
}

// color returns viridis at t in [0, 1] with the map's opacity.
func (v *Viridis) color(t float64) color.RGBA {
	c := heatmap.Viridis(t)
	c.A = uint8(math.Round(255 * v.alpha))
	return c
}

// Max returns the upper end of the range.
func (v *Viridis) Max() float64 { return v.max }

// SetMax sets the upper end of the range.
func (v *Viridis) SetMax(x float64) { v.max = x }

// Min returns the lower end of the range.
func (v *Viridis) Min() float64 { return v.min }

// SetMin sets the lower end of the range.
func (v *Viridis) SetMin(x float64) { v.min = x }

// Alpha returns the opacity, 1 by default.
func (v *Viridis) Alpha() float64 { return v.alpha }

// SetAlpha sets the opacity; it panics outside [0, 1], as palette.ColorMap
// documents.
func (v *Viridis) SetAlpha(a float64) {
	if a < 0 || a > 1 {
		panic("figure: alpha outside [0, 1]")
	}
	v.alpha = a
}

// Palette returns n evenly spaced colours of the map.
func (v *Viridis) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		cs[i] = v.color(t)
	}
	return colors(cs)
}

// colors is a fixed palette.
type colors []color.Color

func (c colors) Colors() []color.Color { return c }

// A Panel is one plot of a figure, Width pixels wide, with an optional
// colour bar drawn at its right edge (BarWidth pixels of Width; 0 means 90).
type Panel struct {
	Plot     *plot.Plot
	Bar      *plot.Plot
	Width    int
	BarWidth int
}

// Render draws panels left to right on one white image height pixels tall.
// A panel with Width 0 gets height pixels (a square, plus its bar).
func Render(height int, panels ...Panel) (*image.RGBA, error) {
	if height < 16 || height > heatmap.MaxSize {
		return nil, errors.Errorf("figure: height %d outside [16, %d]", height, heatmap.MaxSize)
	}
	total := 0
	for i := range panels {
		if panels[i].Plot == nil {
			return nil, errors.Errorf("figure: panel %d has no plot", i)
		}
		if panels[i].Bar != nil && panels[i].BarWidth == 0 {
			panels[i].BarWidth = 90
		}
		if panels[i].Width == 0 {
			panels[i].Width = height + panels[i].BarWidth
		}
		total += panels[i].Width
	}
	if total < 16 || total > heatmap.MaxSize {
		return nil, errors.Errorf("figure: width %d outside [16, %d]", total, heatmap.MaxSize)
	}
	c := vgimg.NewWith(vgimg.UseWH(px(total), px(height)), vgimg.UseDPI(DPI))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	left := 0
	for _, pn := range panels {
		area := draw.Crop(dc, px(left), -px(total-left-pn.Width), 0, 0)
		main := area
		if pn.Bar != nil {
			main = draw.Crop(area, 0, -px(pn.BarWidth), 0, 0)
			bar := draw.Crop(area, px(pn.Width-pn.BarWidth), 0, 0, 0)
			// Keep the bar's ends level with the heat map's plotting area.
			bar = draw.Crop(bar, px(10), -px(10), px(46), -px(8))
			pn.Bar.Draw(bar)
		}
		pn.Plot.Draw(main)
		left += pn.Width
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, errors.Errorf("figure: canvas image is %T, not *image.RGBA", c.Image())
	}
	return img, nil
}
