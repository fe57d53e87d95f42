package heatmap

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// TextColor is the colour of caption text.
var TextColor = color.RGBA{R: 0xe8, G: 0xe8, B: 0xe8, A: 0xff}

// captionLine is the height of one caption line: the 13-pixel fixed font
// plus spacing.
const captionLine = 15

// Captioned returns img with lines of text in a band above it, drawn in
// TextColor on Background with the 7×13 fixed font of
// golang.org/x/image/font/basicfont (ASCII; other runes show as boxes).
// The result is at least as wide as the longest line.
func Captioned(img image.Image, lines ...string) *image.RGBA {
	b := img.Bounds()
	face := basicfont.Face7x13
	w := b.Dx()
	for _, l := range lines {
		w = max(w, font.MeasureString(face, l).Ceil()+4)
	}
	band := 0
	if len(lines) > 0 {
		band = len(lines)*captionLine + 4
	}
	out := image.NewRGBA(image.Rect(0, 0, w, band+b.Dy()))
	draw.Draw(out, out.Bounds(), image.NewUniform(Background), image.Point{}, draw.Src)
	d := font.Drawer{Dst: out, Src: image.NewUniform(TextColor), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(2, 2+(i+1)*captionLine-3)
		d.DrawString(l)
	}
	draw.Draw(out, image.Rect(0, band, b.Dx(), band+b.Dy()), img, b.Min, draw.Src)
	return out
}

// Stacked joins images vertically, top to bottom in argument order, with a
// Gap-pixel strip of Background between neighbours: SideBySide turned on
// its side. Images are left-aligned; nil images are skipped.
func Stacked(imgs ...image.Image) *image.RGBA { return join(true, imgs) }
