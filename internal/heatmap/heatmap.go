// Package heatmap draws the pictures used to inspect normalizing flows
// trained on 2-D toy densities, in the style of the FFJORD and Residual
// Flows toy figures: square images on a dark background coloured with the
// perceptual viridis colormap.
//
// A typical figure has three panels joined with SideBySide: a Histogram of
// the training data, the model's Density evaluated on the Grid of pixel
// centres, and a Histogram of model samples. LinePlot draws loss curves and
// SavePNG writes any of these atomically. No text is drawn.
//
// Coordinates follow the mathematical convention: x grows to the right and
// y grows upwards, so row 0 of every square image is the YMax edge.
package heatmap

import (
	"image"
	"image/color"
	"math"

	"github.com/pkg/errors"
)

// MaxSize is the largest image side, in pixels, that the functions of this
// package accept. It guards against a mistyped size allocating gigabytes.
const MaxSize = 8192

// Background is the dark colour used for gaps between panels and behind
// line plots.
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

// checkSize validates the side of a square image.
func checkSize(fn string, size int) error {
	if size < 2 || size > MaxSize {
		return errors.Errorf("heatmap: %s: size = %d, want 2 <= size <= %d", fn, size, MaxSize)
	}
	return nil
}

// setPix writes c at pixel offset i of img.Pix (i = 4*(row*stride/4 + col)).
func setPix(img *image.RGBA, i int, c color.RGBA) {
	p := img.Pix[i : i+4 : i+4]
	p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
}

// Histogram bins 2-D points into a size×size grid over bounds and returns
// one pixel per bin. points is row-major n×2: points[2i] is the x and
// points[2i+1] the y coordinate of point i. Counts are divided by the
// largest count and mapped through Viridis, so empty bins are the darkest
// colour and the fullest bin the brightest; if no point falls inside
// bounds the image is uniformly dark.
//
// Bin column c covers x in [XMin + c·w, XMin + (c+1)·w) with w the bin
// width (the last column also includes XMax), and likewise for y, except
// that image row 0 is the top bin (the YMax side). Points outside bounds,
// including infinite ones, are ignored.
//
// Histogram returns an error for invalid bounds, a size outside
// [2, MaxSize], an odd-length points slice, or any point with a NaN
// coordinate (a NaN sample means a broken model, so it is not silently
// dropped); the error names the offending point.
func Histogram(points []float64, bounds Rect, size int) (*image.RGBA, error) {
	if err := bounds.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize("Histogram", size); err != nil {
		return nil, err
	}
	if len(points)%2 != 0 {
		return nil, errors.Errorf("heatmap: Histogram: len(points) = %d is odd, want row-major n×2 (x, y) pairs", len(points))
	}
	counts := make([]int, size*size)
	maxCount := 0
	sx := float64(size) / (bounds.XMax - bounds.XMin)
	sy := float64(size) / (bounds.YMax - bounds.YMin)
	for i := 0; i < len(points)/2; i++ {
		x, y := points[2*i], points[2*i+1]
		if math.IsNaN(x) || math.IsNaN(y) {
			return nil, errors.Errorf("heatmap: Histogram: point %d = (%v, %v) has a NaN coordinate", i, x, y)
		}
		if x < bounds.XMin || x > bounds.XMax || y < bounds.YMin || y > bounds.YMax {
			continue
		}
		c := int((x - bounds.XMin) * sx)
		if c >= size {
			c = size - 1
		}
		r := int((y - bounds.YMin) * sy)
		if r >= size {
			r = size - 1
		}
		k := (size-1-r)*size + c
		counts[k]++
		if counts[k] > maxCount {
			maxCount = counts[k]
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for k, n := range counts {
		t := 0.0
		if maxCount > 0 {
			t = float64(n) / float64(maxCount)
		}
		setPix(img, 4*k, Viridis(t))
	}
	return img, nil
}

// Grid returns the centres of the pixels of a size×size image over bounds,
// row-major n×2 (x, y) with n = size·size, in image order: the first size
// points are the top row (the YMax side) from left to right, and point
// k = row·size + col is the centre of pixel (col, row). Evaluate a
// log-density at these points and pass the results to Density.
//
// Grid returns nil if size is outside [2, MaxSize]; it does not validate
// bounds (see Rect.Validate).
func Grid(bounds Rect, size int) []float64 {
	if checkSize("Grid", size) != nil {
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

// Density renders a density from its logarithm. logp[k] is the
// log-density at point k of Grid(bounds, size), so len(logp) must be
// size·size and logp[row·size+col] colours pixel (col, row). The image
// shows exp(logp) divided by its maximum (computed stably as
// exp(logp - max logp)) through Viridis, so it displays the density
// itself, not the log-density: the mode is the brightest colour.
//
// -Inf entries are allowed and mean zero density (darkest colour); if every
// entry is -Inf the image is uniformly dark. Density returns an error for a
// size outside [2, MaxSize], a length mismatch, or a NaN or +Inf entry,
// naming its index.
func Density(logp []float64, size int) (*image.RGBA, error) {
	if err := checkSize("Density", size); err != nil {
		return nil, err
	}
	if len(logp) != size*size {
		return nil, errors.Errorf("heatmap: Density: len(logp) = %d, want size*size = %d", len(logp), size*size)
	}
	maxLogp := math.Inf(-1)
	for i, v := range logp {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			return nil, errors.Errorf("heatmap: Density: logp[%d] = %v, want a finite value or -Inf", i, v)
		}
		if v > maxLogp {
			maxLogp = v
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for k, v := range logp {
		t := 0.0
		if !math.IsInf(maxLogp, -1) {
			t = math.Exp(v - maxLogp)
		}
		setPix(img, 4*k, Viridis(t))
	}
	return img, nil
}
