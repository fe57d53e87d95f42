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

func TestSavePNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "toy.png")
	// Two different images: a viridis ramp, then a smaller one beside it.
	ramp := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			ramp.SetRGBA(x, y, Viridis(float64(x+y)/62))
		}
	}
	dens, loss := ramp, ramp.SubImage(image.Rect(4, 4, 20, 12))
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
