// Package heatmap holds the raster helpers behind the programs' pictures:
// the perceptual viridis colormap, the Rect of the data plane a toy plot
// shows and the Grid of pixel centres a density is evaluated on, grids of
// images (ImageGrid) with text captions (Captioned), joined side by side or
// stacked, and SavePNG, which writes any image atomically. Plots with axes
// are drawn by internal/figure on top of gonum.org/v1/plot.
//
// Coordinates follow the mathematical convention: x grows to the right and
// y grows upwards, so row 0 of a Grid is the YMax edge.
package heatmap

import (
	"image/color"
	"math"

	"github.com/pkg/errors"
)

// MaxSize is the largest image side, in pixels, that the functions of this
// package accept. It guards against a mistyped size allocating gigabytes.
const MaxSize = 8192

// Background is the dark colour behind captions and in the gaps between
// joined panels.
var Background = color.RGBA{R: 0x10, G: 0x10, B: 0x14, A: 0xff}

// Rect is an axis-aligned rectangle of the data plane: the x range
// [XMin, XMax] and the y range [YMin, YMax] shown by a square image.
type Rect struct{ XMin, XMax, YMin, YMax float64 }

// Validate reports whether r can be drawn: all four values finite,
// XMin < XMax, YMin < YMax, and both widths finite. The error is prefixed
// "heatmap: " and names the offending values.
func (r Rect) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"XMin", r.XMin}, {"XMax", r.XMax}, {"YMin", r.YMin}, {"YMax", r.YMax}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return errors.Errorf("heatmap: bounds %s = %v is not finite", f.name, f.v)
		}
	}
	if !(r.XMin < r.XMax) {
		return errors.Errorf("heatmap: bounds XMin = %v must be less than XMax = %v", r.XMin, r.XMax)
	}
	if !(r.YMin < r.YMax) {
		return errors.Errorf("heatmap: bounds YMin = %v must be less than YMax = %v", r.YMin, r.YMax)
	}
	if w := r.XMax - r.XMin; math.IsInf(w, 0) {
		return errors.Errorf("heatmap: bounds width XMax - XMin = %v - %v overflows", r.XMax, r.XMin)
	}
	if h := r.YMax - r.YMin; math.IsInf(h, 0) {
		return errors.Errorf("heatmap: bounds height YMax - YMin = %v - %v overflows", r.YMax, r.YMin)
	}
	return nil
}

// Grid returns the centres of the pixels of a size×size image over bounds,
// row-major n×2 (x, y) with n = size·size, in image order: the first size
// points are the top row (the YMax side) from left to right, and point
// k = row·size + col is the centre of pixel (col, row). Evaluate a
// log-density at these points and pass the results to figure.Density
// (internal/figure).
//
// Grid returns nil if size is outside [2, MaxSize]; it does not validate
// bounds (see Rect.Validate).
func Grid(bounds Rect, size int) []float64 {
	if size < 2 || size > MaxSize {
		return nil
	}
	dx := (bounds.XMax - bounds.XMin) / float64(size)
	dy := (bounds.YMax - bounds.YMin) / float64(size)
	pts := make([]float64, 0, 2*size*size)
	for r := 0; r < size; r++ {
		y := bounds.YMax - (float64(r)+0.5)*dy
		for c := 0; c < size; c++ {
			pts = append(pts, bounds.XMin+(float64(c)+0.5)*dx, y)
		}
	}
	return pts
}
