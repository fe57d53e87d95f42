package heatmap

import (
	"image/color"
	"math"
	"testing"
)

func TestImageGridGrayLayout(t *testing.T) {
	// Five 2×3 gray images in 2 columns at scale 2: 3 rows, the last one
	// half empty. Image k has every pixel at k/4, except pixel (0, 0) = 1.
	n, h, w, scale := 5, 2, 3, 2
	pix := make([]float32, n*h*w)
	for k := 0; k < n; k++ {
		for p := 0; p < h*w; p++ {
			pix[k*h*w+p] = float32(k) / 4
		}
		pix[k*h*w] = 1
	}
	img, err := ImageGrid(pix, n, 1, h, w, 2, scale)
	if err != nil {
		t.Fatal(err)
	}
	wantW, wantH := 2*w*scale+GridGap, 3*h*scale+2*GridGap
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH || b.Min.X != 0 || b.Min.Y != 0 {
		t.Fatalf("bounds %v, want %d×%d", b, wantW, wantH)
	}
	gray := func(v float64) color.RGBA {
		g := uint8(math.Round(v * 255))
		return color.RGBA{R: g, G: g, B: g, A: 0xff}
	}
	for k := 0; k < n; k++ {
		x0, y0 := (k%2)*(w*scale+GridGap), (k/2)*(h*scale+GridGap)
		for y := 0; y < h*scale; y++ {
			for x := 0; x < w*scale; x++ {
				want := gray(float64(k) / 4)
				if x < scale && y < scale {
					want = gray(1)
				}
				if got := img.RGBAAt(x0+x, y0+y); got != want {
					t.Fatalf("image %d pixel (%d, %d) = %v, want %v", k, x, y, got, want)
				}
			}
		}
	}
	// Gaps and the empty sixth cell are Background.
	for _, p := range [][2]int{{w * scale, 0}, {w*scale + GridGap - 1, wantH - 1}, {0, h * scale}, {wantW - 1, wantH - 1}, {wantW - 1, 2 * (h*scale + GridGap)}} {
		if got := img.RGBAAt(p[0], p[1]); got != Background {
			t.Errorf("pixel %v = %v, want the background %v", p, got, Background)
		}
	}
}

func TestImageGridRGBAndClamping(t *testing.T) {
	// One 1×2 RGB image (NCHW): pixel 0 is (1, 0, 0.5), pixel 1 is
	// out of range (−3, 7, +Inf) and must clamp to (0, 1, 1).
	pix := []float32{1, -3, 0, 7, 0.5, float32(math.Inf(1))}
	img, err := ImageGrid(pix, 1, 3, 1, 2, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2 || b.Dy() != 1 {
		t.Fatalf("bounds %v, want 2×1 (columns reduced to the one image)", b)
	}
	if got, want := img.RGBAAt(0, 0), (color.RGBA{R: 255, G: 0, B: 128, A: 255}); got != want {
		t.Errorf("pixel 0 = %v, want %v", got, want)
	}
	if got, want := img.RGBAAt(1, 0), (color.RGBA{R: 0, G: 255, B: 255, A: 255}); got != want {
		t.Errorf("pixel 1 = %v, want %v", got, want)
	}
}

func TestImageGridErrors(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name                   string
		pix                    []float32
		n, c, h, w, cols, scal int
		want                   string
	}{
		{"no images", nil, 0, 1, 2, 2, 1, 1, "0 images"},
		{"zero height", make([]float32, 4), 1, 1, 0, 2, 1, 1, "at least 1×1"},
		{"two channels", make([]float32, 8), 1, 2, 2, 2, 1, 1, "2 channels"},
		{"zero columns", make([]float32, 4), 1, 1, 2, 2, 0, 1, "0 columns"},
		{"zero scale", make([]float32, 4), 1, 1, 2, 2, 1, 0, "scale 0"},
		{"short", make([]float32, 7), 2, 1, 2, 2, 1, 1, "7 values for 2 images"},
		{"long", make([]float32, 9), 2, 1, 2, 2, 1, 1, "9 values"},
		{"huge n", make([]float32, 4), 1 << 62, 1, 2, 2, 1, 1, "4 values"},
		{"too big", make([]float32, 4*64), 64, 1, 2, 2, 64, 100, "want each side ≤ 8192"},
		{"huge side", make([]float32, 4), 1, 1, 1, 4, 1, MaxSize + 1, "exceed"},
		{"nan", []float32{0, 0, 0, 0, 0, 0, 0, nan}, 2, 1, 2, 2, 1, 1, "image 1 has a NaN at channel 0, pixel (1, 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ImageGrid(c.pix, c.n, c.c, c.h, c.w, c.cols, c.scal)
			wantErr(t, err, "ImageGrid", c.want)
		})
	}
}
