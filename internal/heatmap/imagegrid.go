package heatmap

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/pkg/errors"
)

// GridGap is the width, in pixels, of the dark strip ImageGrid puts between
// neighbouring tiles.
const GridGap = 2

// ImageGrid tiles n images into a grid with cols columns, left to right
// then top to bottom, for inspecting samples or reconstructions of an
// image model.
//
// pixels holds the images in NCHW order (n·c·h·w values), intensities in
// [0, 1]; values outside are clamped. One channel (c = 1) is drawn as gray,
// three (c = 3) as RGB. Every image pixel becomes a scale×scale block, and
// tiles are separated by GridGap pixels of Background; cells of an
// incomplete last row are Background too. More columns than images are
// reduced to n, so the grid of a single image is just that image. The
// result is min(cols, n)·w·scale + (min(cols, n) − 1)·GridGap pixels wide
// and rows·h·scale + (rows − 1)·GridGap high, rows = ⌈n / min(cols, n)⌉.
//
// ImageGrid returns an error (prefixed "heatmap: ImageGrid: ") for
// non-positive n, h, w, cols or scale, a channel count other than 1 or 3,
// a pixels slice of the wrong length, a result with a side beyond MaxSize,
// or a NaN value (a NaN pixel means a broken model, so it is not drawn as
// some colour); the error names the offending image.
func ImageGrid(pixels []float32, n, c, h, w, cols, scale int) (*image.RGBA, error) {
	switch {
	case n < 1 || h < 1 || w < 1:
		return nil, errors.Errorf("heatmap: ImageGrid: %d images of %d×%d pixels, want at least one image of at least 1×1", n, h, w)
	case c != 1 && c != 3:
		return nil, errors.Errorf("heatmap: ImageGrid: %d channels, want 1 (gray) or 3 (RGB)", c)
	case cols < 1:
		return nil, errors.Errorf("heatmap: ImageGrid: %d columns, want ≥ 1", cols)
	case scale < 1:
		return nil, errors.Errorf("heatmap: ImageGrid: scale %d, want ≥ 1", scale)
	}
	if h > MaxSize || w > MaxSize || scale > MaxSize {
		return nil, errors.Errorf("heatmap: ImageGrid: %d×%d images at scale %d exceed %d pixels a side", h, w, scale, MaxSize)
	}
	size := c * h * w // no overflow: h, w ≤ MaxSize
	if n > len(pixels) || len(pixels) != n*size {
		return nil, errors.Errorf("heatmap: ImageGrid: %d values for %d images of %d×%d×%d", len(pixels), n, c, h, w)
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	tw, th := w*scale, h*scale
	width := cols*tw + (cols-1)*GridGap
	height := rows*th + (rows-1)*GridGap
	if tw > MaxSize || th > MaxSize || width > MaxSize || height > MaxSize {
		return nil, errors.Errorf("heatmap: ImageGrid: %d×%d grid of %d×%d tiles is %d×%d pixels, want each side ≤ %d", rows, cols, th, tw, height, width, MaxSize)
	}
	for i, v := range pixels {
		if math.IsNaN(float64(v)) {
			k := i / size
			return nil, errors.Errorf("heatmap: ImageGrid: image %d has a NaN at channel %d, pixel (%d, %d)", k, i%size/(h*w), i%(h*w)/w, i%w)
		}
	}

	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(Background), image.Point{}, draw.Src)
	level := func(v float32) uint8 {
		return uint8(math.Round(math.Min(math.Max(float64(v), 0), 1) * 255))
	}
	plane := h * w
	for k := 0; k < n; k++ {
		x0 := (k % cols) * (tw + GridGap)
		y0 := (k / cols) * (th + GridGap)
		im := pixels[k*size : (k+1)*size]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var col color.RGBA
				p := y*w + x
				if c == 1 {
					g := level(im[p])
					col = color.RGBA{R: g, G: g, B: g, A: 0xff}
				} else {
					col = color.RGBA{R: level(im[p]), G: level(im[plane+p]), B: level(im[2*plane+p]), A: 0xff}
				}
				for dy := 0; dy < scale; dy++ {
					row := (y0+y*scale+dy)*img.Stride + (x0+x*scale)*4
					for dx := 0; dx < scale; dx++ {
						setPix(img, row+4*dx, col)
					}
				}
			}
		}
	}
	return img, nil
}

// setPix writes c at pixel offset i of img.Pix (i = 4*(row*stride/4 + col)).
func setPix(img *image.RGBA, i int, c color.RGBA) {
	p := img.Pix[i : i+4 : i+4]
	p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
}
