package heatmap

import (
	"image/color"
	"math"
)

// viridisAnchors samples matplotlib's viridis colormap (Stéfan van der Walt
// and Nathaniel Smith, 2015; the 256-entry table _viridis_data in
// matplotlib/_cm_listed.py, released under CC0). Every 8th entry of that
// table is kept together with the last one (index 255); each row is
// {table index, R, G, B} with channels in [0, 1]. Linear interpolation
// between these 33 anchors stays within 2/255 per channel of the full table.
var viridisAnchors = [...][4]float64{
	{0, 0.267004, 0.004874, 0.329415}, // #440154, the published first colour
	{8, 0.277018, 0.050344, 0.375715},
	{16, 0.282327, 0.094955, 0.417331},
	{24, 0.282884, 0.135920, 0.453427},
	{32, 0.278826, 0.175490, 0.483397},
	{40, 0.270595, 0.214069, 0.507052},
	{48, 0.258965, 0.251537, 0.524736},
	{56, 0.244972, 0.287675, 0.537260},
	{64, 0.229739, 0.322361, 0.545706},
	{72, 0.214298, 0.355619, 0.551184},
	{80, 0.199430, 0.387607, 0.554642},
	{88, 0.185556, 0.418570, 0.556753},
	{96, 0.172719, 0.448791, 0.557885},
	{104, 0.160665, 0.478540, 0.558115},
	{112, 0.149039, 0.508051, 0.557250},
	{120, 0.137770, 0.537492, 0.554906},
	{128, 0.127568, 0.566949, 0.550556},
	{136, 0.120565, 0.596422, 0.543611},
	{144, 0.120638, 0.625828, 0.533488},
	{152, 0.132268, 0.655014, 0.519661},
	{160, 0.157851, 0.683765, 0.501686},
	{168, 0.196571, 0.711827, 0.479221},
	{176, 0.246070, 0.738910, 0.452024},
	{184, 0.304148, 0.764704, 0.419943},
	{192, 0.369214, 0.788888, 0.382914},
	{200, 0.440137, 0.811138, 0.340967},
	{208, 0.515992, 0.831158, 0.294279},
	{216, 0.595839, 0.848717, 0.243329},
	{224, 0.678489, 0.863742, 0.189503},
	{232, 0.762373, 0.876424, 0.137064},
	{240, 0.845561, 0.887322, 0.099702},
	{248, 0.926106, 0.897330, 0.104071},
	{255, 0.993248, 0.906157, 0.143936}, // #fde725, the published last colour
}

// Viridis returns the viridis colour at t: 0 is the darkest colour
// (#440154, dark purple) and 1 the brightest (#fde725, yellow), with
// luminance increasing in between. t is clamped to [0, 1]; NaN maps to 0.
// The result is opaque.
func Viridis(t float64) color.RGBA {
	if !(t > 0) { // also catches NaN
		t = 0
	}
	if t > 1 {
		t = 1
	}
	p := t * 255
	k := int(p / 8)
	if k > len(viridisAnchors)-2 {
		k = len(viridisAnchors) - 2
	}
	a, b := viridisAnchors[k], viridisAnchors[k+1]
	f := (p - a[0]) / (b[0] - a[0])
	ch := func(j int) uint8 {
		v := a[j] + (b[j]-a[j])*f
		return uint8(math.Round(255 * math.Min(1, math.Max(0, v))))
	}
	return color.RGBA{R: ch(1), G: ch(2), B: ch(3), A: 0xff}
}
