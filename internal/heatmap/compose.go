package heatmap

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/pkg/errors"
)

// Gap is the width, in pixels, of the dark strip SideBySide puts between
// panels.
const Gap = 4

// FrameColor is the colour of the thin frame LinePlot draws around its
// plotting area.
var FrameColor = color.RGBA{R: 0x70, G: 0x70, B: 0x78, A: 0xff}

// SideBySide joins images horizontally, left to right in argument order,
// with a Gap-pixel strip of Background between neighbours (for example
// data | density | samples panels). Images are top-aligned; the result is
// as tall as the tallest one, and area below shorter images is Background.
// Each image is copied from its own Bounds().Min, so sub-images work. nil
// images are skipped; with no images the result is empty (0×0).
func SideBySide(imgs ...image.Image) *image.RGBA { return join(false, imgs) }

// join lays the non-nil images out left to right (or top to bottom when
// vertical), Gap pixels of Background apart, aligned at the top (left).
func join(vertical bool, imgs []image.Image) *image.RGBA {
	var panels []image.Image
	along, across := 0, 0
	for _, im := range imgs {
		if im == nil {
			continue
		}
		b := im.Bounds()
		l, a := b.Dx(), b.Dy()
		if vertical {
			l, a = a, l
		}
		if len(panels) > 0 {
			along += Gap
		}
		panels = append(panels, im)
		along += l
		across = max(across, a)
	}
	w, h := along, across
	if vertical {
		w, h = across, along
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(Background), image.Point{}, draw.Src)
	off := 0
	for _, im := range panels {
		b := im.Bounds()
		at, l := image.Pt(off, 0), b.Dx()
		if vertical {
			at, l = image.Pt(0, off), b.Dy()
		}
		draw.Draw(out, image.Rectangle{Min: at, Max: at.Add(b.Size())}, im, b.Min, draw.Src)
		off += l + Gap
	}
	return out
}

// SeriesColor returns the colour LinePlot uses for series i of n: Viridis
// at evenly spaced positions from 0.2 to 0.8 (0.2, 0.5, 0.8 for three
// series); a single series is drawn at 0.8, which stands out best against
// the dark background.
func SeriesColor(i, n int) color.RGBA {
	if n <= 1 {
		return Viridis(0.8)
	}
	return Viridis(0.2 + 0.6*float64(i)/float64(n-1))
}

// LinePlot draws one or more series, such as training-loss curves, as
// polylines on a width×height image with a Background fill and a thin
// FrameColor frame. Point i of every series is placed at the same x, the
// longest series spanning the full width, so series logged at the same
// steps line up. The y axis is scaled to the smallest and largest finite
// values across all series, with a 5% margin above and below (a constant
// curve is centred). Non-finite values (NaN, ±Inf) are skipped and leave a
// gap in their polyline; an isolated finite point is drawn as a dot. Series
// i is drawn in SeriesColor(i, len(ys)), later series on top.
//
// If no series holds a finite value the image is just the empty frame.
// LinePlot returns an error if ys is empty or width or height is outside
// [8, MaxSize].
func LinePlot(ys [][]float64, width, height int) (*image.RGBA, error) {
	if len(ys) == 0 {
		return nil, errors.New("heatmap: LinePlot: no series")
	}
	if width < 8 || width > MaxSize || height < 8 || height > MaxSize {
		return nil, errors.Errorf("heatmap: LinePlot: size %d×%d, want each side in [8, %d]", width, height, MaxSize)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(Background), image.Point{}, draw.Src)
	for x := 0; x < width; x++ {
		img.SetRGBA(x, 0, FrameColor)
		img.SetRGBA(x, height-1, FrameColor)
	}
	for y := 0; y < height; y++ {
		img.SetRGBA(0, y, FrameColor)
		img.SetRGBA(width-1, y, FrameColor)
	}

	lo, hi := math.Inf(1), math.Inf(-1)
	maxLen := 0
	for _, s := range ys {
		maxLen = max(maxLen, len(s))
		for _, v := range s {
			if isFinite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi { // no finite value anywhere
		return img, nil
	}
	if hi == lo {
		d := math.Abs(lo) * 0.05
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	margin := 0.05 * (hi - lo)
	lo, hi = lo-margin, hi+margin

	// Plotting area: two pixels of padding inside the frame.
	left, right := 3.0, float64(width-4)
	top, bottom := 3.0, float64(height-4)
	xOf := func(i int) int {
		if maxLen == 1 {
			return int(math.Round((left + right) / 2))
		}
		return int(math.Round(left + float64(i)*(right-left)/float64(maxLen-1)))
	}
	yOf := func(v float64) int {
		return int(math.Round(bottom - (v-lo)/(hi-lo)*(bottom-top)))
	}
	for si, s := range ys {
		c := SeriesColor(si, len(ys))
		havePrev := false
		var px, py int
		for i, v := range s {
			if !isFinite(v) {
				havePrev = false
				continue
			}
			x, y := xOf(i), yOf(v)
			if havePrev {
				drawLine(img, px, py, x, y, c)
			} else {
				img.SetRGBA(x, y, c)
			}
			px, py, havePrev = x, y, true
		}
	}
	return img, nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// drawLine draws the segment from (x0, y0) to (x1, y1), both ends included,
// with Bresenham's algorithm.
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx := abs(x1 - x0)
	dy := -abs(y1 - y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
