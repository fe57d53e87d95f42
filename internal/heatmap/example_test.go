package heatmap_test

import (
	"fmt"
	"math"

	"github.com/iresnet/iresnet/internal/heatmap"
)

// A data | density panel for a standard normal, plus a loss curve.
func Example() {
	bounds := heatmap.Rect{XMin: -4, XMax: 4, YMin: -4, YMax: 4}
	const size = 64

	// Training data (here three points) as a histogram.
	data, err := heatmap.Histogram([]float64{0, 0, 1, 1, -1, 2}, bounds, size)
	if err != nil {
		panic(err)
	}

	// The model's log-density at the pixel centres.
	grid := heatmap.Grid(bounds, size)
	logp := make([]float64, len(grid)/2)
	for k := range logp {
		x, y := grid[2*k], grid[2*k+1]
		logp[k] = -(x*x+y*y)/2 - math.Log(2*math.Pi)
	}
	density, err := heatmap.Density(logp, size)
	if err != nil {
		panic(err)
	}

	panel := heatmap.SideBySide(data, density)
	loss, err := heatmap.LinePlot([][]float64{{2.9, 2.1, math.NaN(), 1.4, 1.3}}, 128, 64)
	if err != nil {
		panic(err)
	}
	// heatmap.SavePNG("toy.png", panel) would write the figure.
	fmt.Println(data.Bounds(), density.Bounds(), panel.Bounds(), loss.Bounds())
	// Output: (0,0)-(64,64) (0,0)-(64,64) (0,0)-(132,64) (0,0)-(128,64)
}
