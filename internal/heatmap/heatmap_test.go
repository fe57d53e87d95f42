package heatmap

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	darkest   = color.RGBA{R: 0x44, G: 0x01, B: 0x54, A: 0xff} // published viridis first colour
	brightest = color.RGBA{R: 0xfd, G: 0xe7, B: 0x25, A: 0xff} // published viridis last colour
)

// luminance is the relative luminance (Rec. 709 weights on linear sRGB).
func luminance(c color.RGBA) float64 {
	lin := func(u uint8) float64 {
		v := float64(u) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

func wantErr(t *testing.T, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want one containing %q", substrs)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "heatmap: ") {
		t.Errorf("error %q lacks the \"heatmap: \" prefix", msg)
	}
	for _, s := range substrs {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
}

func TestViridisEndpoints(t *testing.T) {
	for _, tc := range []struct {
		t    float64
		want color.RGBA
	}{
		{0, darkest},
		{1, brightest},
		{-3, darkest},
		{math.Inf(-1), darkest},
		{math.NaN(), darkest},
		{7, brightest},
		{math.Inf(1), brightest},
	} {
		if got := Viridis(tc.t); got != tc.want {
			t.Errorf("Viridis(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestViridisAnchorsReproduced(t *testing.T) {
	for _, a := range viridisAnchors {
		got := Viridis(a[0] / 255)
		want := color.RGBA{
			R: uint8(math.Round(255 * a[1])),
			G: uint8(math.Round(255 * a[2])),
			B: uint8(math.Round(255 * a[3])),
			A: 0xff,
		}
		if got != want {
			t.Errorf("Viridis(%v/255) = %v, want table entry %v", a[0], got, want)
		}
	}
}

func TestViridisMonotoneLuminance(t *testing.T) {
	// Strictly increasing at a resolution coarser than 8-bit quantisation.
	prev := -1.0
	for i := 0; i <= 128; i++ {
		c := Viridis(float64(i) / 128)
		l := luminance(c)
		if !(l > prev) {
			t.Errorf("luminance at t=%d/128 is %.5f, not above %.5f", i, l, prev)
		}
		prev = l
	}
	// At fine resolution, never decreasing beyond 8-bit rounding noise.
	prev = -1.0
	for i := 0; i <= 1024; i++ {
		l := luminance(Viridis(float64(i) / 1024))
		if l < prev-1e-3 {
			t.Errorf("luminance at t=%d/1024 drops from %.5f to %.5f", i, prev, l)
		}
		prev = math.Max(prev, l)
	}
}

func TestRectValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Rect
		want []string // nil: valid
	}{
		{"ok", Rect{-4, 4, -4, 4}, nil},
		{"asymmetric", Rect{0, 1, -10, -9}, nil},
		{"x reversed", Rect{1, 0, 0, 1}, []string{"XMin = 1", "XMax = 0"}},
		{"y empty", Rect{0, 1, 2, 2}, []string{"YMin = 2", "YMax = 2"}},
		{"nan", Rect{math.NaN(), 1, 0, 1}, []string{"XMin = NaN"}},
		{"inf", Rect{0, 1, 0, math.Inf(1)}, []string{"YMax = +Inf"}},
		{"overflow", Rect{-1e308, 1e308, 0, 1}, []string{"overflows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestHistogramSingleBin(t *testing.T) {
	const size = 8
	b := Rect{-1, 1, -1, 1}
	// Bin width 0.25: x = 0.1 is column 4; y = 0.1 is bin 4 from the
	// bottom, i.e. row 3 from the top.
	pts := []float64{
		0.1, 0.1, 0.1, 0.1, 0.2, 0.15,
		5, 5, -1.5, 0, 0, math.Inf(1), math.Inf(-1), 0, // outside: ignored
	}
	img, err := Histogram(pts, b, size)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, size, size) {
		t.Fatalf("bounds %v", got)
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			want := darkest
			if x == 4 && y == 3 {
				want = brightest
			}
			if got := img.RGBAAt(x, y); got != want {
				t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestHistogramOrientation(t *testing.T) {
	const size = 10
	b := Rect{0, 10, -5, 5}
	for _, tc := range []struct {
		name   string
		x, y   float64
		px, py int
	}{
		{"near YMax lights top row", 5.5, 4.9, 5, 0},
		{"near YMin lights bottom row", 5.5, -4.9, 5, size - 1},
		{"top-left corner", 0, 5, 0, 0},
		{"top-right corner (XMax inclusive)", 10, 5, size - 1, 0},
		{"bottom-left corner", 0, -5, 0, size - 1},
		{"bottom-right corner", 10, -5, size - 1, size - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Histogram([]float64{tc.x, tc.y}, b, size)
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					lit := img.RGBAAt(x, y) == brightest
					if lit != (x == tc.px && y == tc.py) {
						t.Errorf("pixel (%d,%d) lit=%v; want only (%d,%d) lit", x, y, lit, tc.px, tc.py)
					}
				}
			}
		})
	}
}

func TestHistogramEmptyIsDark(t *testing.T) {
	img, err := Histogram(nil, Rect{0, 1, 0, 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 16; i++ {
		if got := img.RGBAAt(i%4, i/4); got != darkest {
			t.Fatalf("pixel %d = %v, want darkest", i, got)
		}
	}
}

func TestHistogramErrors(t *testing.T) {
	ok := Rect{-1, 1, -1, 1}
	for _, tc := range []struct {
		name   string
		pts    []float64
		bounds Rect
		size   int
		want   []string
	}{
		{"odd length", []float64{0, 0, 1}, ok, 8, []string{"len(points) = 3", "odd"}},
		{"size 1", []float64{0, 0}, ok, 1, []string{"size = 1"}},
		{"size 0", nil, ok, 0, []string{"size = 0"}},
		{"size too big", nil, ok, MaxSize + 1, []string{"size = 8193"}},
		{"NaN x", []float64{0, 0, math.NaN(), 0}, ok, 8, []string{"point 1", "NaN"}},
		{"NaN y outside bounds", []float64{0, 0, 0, 0, 9, math.NaN()}, ok, 8, []string{"point 2", "NaN"}},
		{"bad bounds", []float64{0, 0}, Rect{1, -1, 0, 1}, 8, []string{"XMin = 1", "XMax = -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Histogram(tc.pts, tc.bounds, tc.size)
			if img != nil {
				t.Errorf("got an image with an error")
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestGrid(t *testing.T) {
	b := Rect{-2, 2, 0, 8}
	const size = 4 // pixels are 1 wide, 2 tall
	g := Grid(b, size)
	if len(g) != 2*size*size {
		t.Fatalf("len = %d, want %d", len(g), 2*size*size)
	}
	for _, tc := range []struct {
		k    int
		x, y float64
	}{
		{0, -1.5, 7},                 // top-left
		{size - 1, 1.5, 7},           // top-right
		{size, -1.5, 5},              // start of second row
		{size*size - 1, 1.5, 1},      // bottom-right
		{2*size + 1, -0.5, 3},        // row 2, column 1
		{size * (size - 1), -1.5, 1}, // bottom-left
	} {
		if g[2*tc.k] != tc.x || g[2*tc.k+1] != tc.y {
			t.Errorf("point %d = (%v, %v), want (%v, %v)", tc.k, g[2*tc.k], g[2*tc.k+1], tc.x, tc.y)
		}
	}
	for _, bad := range []int{-1, 0, 1, MaxSize + 1} {
		if g := Grid(b, bad); g != nil {
			t.Errorf("Grid(size=%d) returned %d values, want nil", bad, len(g))
		}
	}
}

// brightestPixel returns the location of the (first) brightest-colour pixel.
func brightestPixel(t *testing.T, img *image.RGBA) image.Point {
	t.Helper()
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == brightest {
				return image.Pt(x, y)
			}
		}
	}
	t.Fatal("no brightest pixel")
	return image.Point{}
}

func TestGridDensityOrientation(t *testing.T) {
	const size = 16
	b := Rect{-3, 3, -2, 4}
	g := Grid(b, size)
	for _, tc := range []struct {
		name   string
		cx, cy float64 // mode of the density
	}{
		{"top-left corner", b.XMin, b.YMax},
		{"bottom-right corner", b.XMax, b.YMin},
		{"interior", 1.1, -0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logp := make([]float64, size*size)
			for k := range logp {
				dx, dy := g[2*k]-tc.cx, g[2*k+1]-tc.cy
				logp[k] = -50 - (dx*dx + dy*dy)
			}
			dens, err := Density(logp, size)
			if err != nil {
				t.Fatal(err)
			}
			// The histogram of a single point at the mode must light the
			// same pixel as the density's brightest pixel.
			hist, err := Histogram([]float64{tc.cx, tc.cy}, b, size)
			if err != nil {
				t.Fatal(err)
			}
			if d, h := brightestPixel(t, dens), brightestPixel(t, hist); d != h {
				t.Errorf("density mode at pixel %v, histogram of the mode at %v", d, h)
			}
		})
	}
	// Top-left explicitly: only the first Grid point has high log-density.
	logp := make([]float64, size*size)
	for k := range logp {
		logp[k] = -1000
	}
	logp[0] = 3
	img, err := Density(logp, size)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(0, 0); got != brightest {
		t.Errorf("top-left pixel = %v, want brightest", got)
	}
	if got := img.RGBAAt(size-1, size-1); got != darkest {
		t.Errorf("bottom-right pixel = %v, want darkest", got)
	}
}

func TestDensityShowsDensityNotLog(t *testing.T) {
	// log 1 and log 0.5: the second pixel must be Viridis(0.5), the
	// normalized density, not a rescaled log-density.
	logp := []float64{0, math.Log(0.5), math.Inf(-1), -1e9}
	img, err := Density(logp, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, brightest},
		{1, 0, Viridis(0.5)},
		{0, 1, darkest},
		{1, 1, darkest},
	} {
		if got := img.RGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
	// Large log-densities must not overflow.
	img, err = Density([]float64{1000, 1000 + math.Log(0.5), 1000, 1000}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(1, 0); got != Viridis(0.5) {
		t.Errorf("shifted pixel = %v, want %v", got, Viridis(0.5))
	}
}

func TestDensityAllNegInfIsDark(t *testing.T) {
	ninf := math.Inf(-1)
	img, err := Density([]float64{ninf, ninf, ninf, ninf}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if got := img.RGBAAt(i%2, i/2); got != darkest {
			t.Errorf("pixel %d = %v, want darkest", i, got)
		}
	}
}

func TestDensityErrors(t *testing.T) {
	four := func(i int, v float64) []float64 {
		l := []float64{0, 0, 0, 0}
		l[i] = v
		return l
	}
	for _, tc := range []struct {
		name string
		logp []float64
		size int
		want []string
	}{
		{"NaN", four(2, math.NaN()), 2, []string{"logp[2]", "NaN"}},
		{"+Inf", four(3, math.Inf(1)), 2, []string{"logp[3]", "+Inf"}},
		{"length", []float64{0, 0, 0}, 2, []string{"len(logp) = 3", "4"}},
		{"size", []float64{0}, 1, []string{"size = 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Density(tc.logp, tc.size)
			if img != nil {
				t.Errorf("got an image with an error")
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestSideBySide(t *testing.T) {
	fill := func(w, h int, c color.RGBA) *image.RGBA {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < len(m.Pix); i += 4 {
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
		}
		return m
	}
	red := color.RGBA{255, 0, 0, 255}
	green := color.RGBA{0, 255, 0, 255}
	blue := color.RGBA{0, 0, 255, 255}
	// A sub-image whose bounds do not start at the origin.
	sub := fill(30, 30, blue).SubImage(image.Rect(10, 10, 16, 22)).(*image.RGBA)
	out := SideBySide(fill(10, 10, red), fill(5, 7, green), nil, sub)
	if got, want := out.Bounds(), image.Rect(0, 0, 10+Gap+5+Gap+6, 12); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, red}, {9, 9, red}, {9, 11, Background},
		{10, 0, Background}, {13, 5, Background},
		{14, 0, green}, {18, 6, green}, {18, 7, Background},
		{19, 3, Background}, {22, 3, Background},
		{23, 0, blue}, {28, 9, blue},
	} {
		if got := out.RGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
	if got := SideBySide().Bounds(); !got.Empty() {
		t.Errorf("SideBySide() bounds %v, want empty", got)
	}
	if got := SideBySide(fill(3, 4, red)).Bounds(); got != image.Rect(0, 0, 3, 4) {
		t.Errorf("single image bounds %v", got)
	}
}

// litPixels returns, per column, the rows painted in colour c.
func litPixels(img *image.RGBA, c color.RGBA) map[int][]int {
	lit := map[int][]int{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				lit[x] = append(lit[x], y)
			}
		}
	}
	return lit
}

func TestLinePlotIncreasing(t *testing.T) {
	const w, h = 64, 48
	ys := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	img, err := LinePlot([][]float64{ys}, w, h)
	if err != nil {
		t.Fatal(err)
	}
	lit := litPixels(img, SeriesColor(0, 1))
	if len(lit) < w/2 {
		t.Fatalf("only %d columns lit", len(lit))
	}
	// Going right, the line only goes up (row numbers decrease).
	prevTop := h
	minX, maxX := w, -1
	for x := 0; x < w; x++ {
		rows, ok := lit[x]
		if !ok {
			continue
		}
		minX, maxX = min(minX, x), max(maxX, x)
		lo, hi := rows[0], rows[len(rows)-1]
		if hi > prevTop {
			t.Errorf("column %d lit down to row %d, below the previous column's top row %d", x, hi, prevTop)
		}
		prevTop = lo
	}
	// The first point is near the bottom-left, the last near the top-right,
	// inside the frame with the 5% margin.
	if first := lit[minX]; minX > 4 || first[len(first)-1] < h-8 || first[len(first)-1] >= h-1 {
		t.Errorf("first lit column %d rows %v, want near the bottom-left", minX, first)
	}
	if last := lit[maxX]; maxX < w-5 || last[0] > 7 || last[0] <= 0 {
		t.Errorf("last lit column %d rows %v, want near the top-right", maxX, last)
	}
	// Frame and background.
	for _, p := range []image.Point{{0, 0}, {w - 1, 0}, {0, h - 1}, {w - 1, h - 1}, {w / 2, 0}, {0, h / 2}} {
		if got := img.RGBAAt(p.X, p.Y); got != FrameColor {
			t.Errorf("frame pixel %v = %v", p, got)
		}
	}
	if got := img.RGBAAt(w-3, h-3); got != Background {
		t.Errorf("bottom-right interior pixel = %v, want Background", got)
	}
}

func TestLinePlotGapsAndSeries(t *testing.T) {
	const w, h = 101, 40
	nan := math.NaN()
	a := []float64{0, 1, 2, nan, nan, nan, nan, 7, 8, 9}
	b := []float64{9, 8, math.Inf(1), 6, 5} // shorter: spans half the x range
	img, err := LinePlot([][]float64{a, b}, w, h)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := SeriesColor(0, 2), SeriesColor(1, 2)
	if ca == cb {
		t.Fatalf("series colours are equal: %v", ca)
	}
	if ca != Viridis(0.2) || cb != Viridis(0.8) {
		t.Errorf("series colours %v, %v, want Viridis(0.2), Viridis(0.8)", ca, cb)
	}
	litA, litB := litPixels(img, ca), litPixels(img, cb)
	// Point i sits at x = 3 + i*94/9: points 2 and 7 at columns 24 and 76.
	// Nothing of series a may be drawn strictly between them.
	for x := 25; x <= 75; x++ {
		if len(litA[x]) > 0 {
			t.Errorf("series a lit at column %d, inside its NaN gap", x)
		}
	}
	if len(litA[3]) == 0 || len(litA[w-4]) == 0 {
		t.Errorf("series a not drawn at both ends")
	}
	// Series b ends at point 4 (column 45) and has a gap between points 1
	// and 3 (columns 13 and 34).
	for x := 46; x < w; x++ {
		if len(litB[x]) > 0 {
			t.Errorf("series b lit at column %d, past its last point", x)
		}
	}
	for x := 14; x <= 33; x++ {
		if len(litB[x]) > 0 {
			t.Errorf("series b lit at column %d, inside its +Inf gap", x)
		}
	}
}

func TestLinePlotDegenerate(t *testing.T) {
	// Constant series: drawn as a horizontal line in the middle.
	img, err := LinePlot([][]float64{{2, 2, 2}}, 20, 21)
	if err != nil {
		t.Fatal(err)
	}
	lit := litPixels(img, SeriesColor(0, 1))
	for x, rows := range lit {
		for _, y := range rows {
			if y != 10 {
				t.Errorf("constant series lit (%d,%d), want row 10", x, y)
			}
		}
	}
	if len(lit) == 0 {
		t.Error("constant series not drawn")
	}
	// No finite values: just the frame.
	img, err = LinePlot([][]float64{{math.NaN()}, nil}, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(5, 5); got != Background {
		t.Errorf("interior = %v, want Background", got)
	}
	// A single point is a dot.
	img, err = LinePlot([][]float64{{1}}, 11, 11)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.RGBAAt(5, 5); got != SeriesColor(0, 1) {
		t.Errorf("single point = %v, want the series colour", got)
	}
}

func TestLinePlotErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ys   [][]float64
		w, h int
		want []string
	}{
		{"no series", nil, 10, 10, []string{"no series"}},
		{"narrow", [][]float64{{1}}, 7, 10, []string{"7×10"}},
		{"short", [][]float64{{1}}, 10, 0, []string{"10×0"}},
		{"huge", [][]float64{{1}}, 10, MaxSize + 1, []string{"10×8193"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := LinePlot(tc.ys, tc.w, tc.h)
			if img != nil {
				t.Errorf("got an image with an error")
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestSavePNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "toy.png")
	g := Grid(Rect{-1, 1, -1, 1}, 32)
	logp := make([]float64, len(g)/2)
	for k := range logp {
		logp[k] = -4 * (g[2*k]*g[2*k] + g[2*k+1]*g[2*k+1])
	}
	dens, err := Density(logp, 32)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := LinePlot([][]float64{{3, 2, 1.5, 1.2}}, 40, 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []*image.RGBA{SideBySide(dens, loss), dens} { // second save overwrites
		if err := SavePNG(path, img); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != img.Bounds() {
			t.Fatalf("decoded bounds %v, want %v", got.Bounds(), img.Bounds())
		}
		r := img.Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if c := color.RGBAModel.Convert(got.At(x, y)).(color.RGBA); c != img.RGBAAt(x, y) {
					t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, c, img.RGBAAt(x, y))
				}
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "toy.png" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only toy.png (temporary file left behind?)", names)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("stat: %v, %v; want mode 0644", fi, err)
	}
}

func TestSavePNGErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "x.png")
	wantErr(t, SavePNG(missing, image.NewRGBA(image.Rect(0, 0, 2, 2))), missing)
	path := filepath.Join(dir, "nil.png")
	wantErr(t, SavePNG(path, nil), path, "nil image")
	// Encoding fails for an empty image; nothing may be left behind.
	wantErr(t, SavePNG(path, image.NewRGBA(image.Rect(0, 0, 0, 0))), path, "encode")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed saves left %d entries in the directory", len(entries))
	}
}
