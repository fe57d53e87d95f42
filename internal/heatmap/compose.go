package heatmap

import (
	"image"
	"image/draw"
)

// Gap is the width, in pixels, of the dark strip SideBySide puts between
// panels.
const Gap = 4

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
