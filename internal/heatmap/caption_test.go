package heatmap

import (
	"image"
	"image/color"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func TestStacked(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	green := color.RGBA{0, 255, 0, 255}
	sub := solid(20, 20, green).SubImage(image.Rect(5, 5, 9, 8)).(*image.RGBA)
	out := Stacked(solid(6, 3, red), nil, sub)
	if got, want := out.Bounds(), image.Rect(0, 0, 6, 3+Gap+3); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, red}, {5, 2, red}, {0, 3, Background}, {0, 3 + Gap - 1, Background},
		{0, 3 + Gap, green}, {3, 3 + Gap + 2, green}, {4, 3 + Gap, Background},
	} {
		if got := out.RGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestCaptioned(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	img := solid(10, 8, red)
	out := Captioned(img, "vanilla: inverse failed", "second line")
	b := out.Bounds()
	band := 2*captionLine + 4
	if b.Dy() != band+8 {
		t.Fatalf("height %d, want caption band %d + image 8", b.Dy(), band)
	}
	if b.Dx() < 7*len("vanilla: inverse failed") {
		t.Errorf("width %d is narrower than the 7-pixel-per-glyph caption", b.Dx())
	}
	if got := out.RGBAAt(0, band); got != red {
		t.Errorf("image corner at (0,%d) = %v, want red", band, got)
	}
	lit := 0
	for y := 0; y < band; y++ {
		for x := 0; x < b.Dx(); x++ {
			if out.RGBAAt(x, y) == TextColor {
				lit++
			}
		}
	}
	if lit < 50 {
		t.Errorf("%d text pixels in the caption band; the text was not drawn", lit)
	}
	if got := Captioned(img).Bounds(); got != img.Bounds() {
		t.Errorf("no caption: bounds %v, want %v", got, img.Bounds())
	}
}
