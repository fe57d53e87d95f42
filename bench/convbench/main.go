// Command convbench times graph's three convolution kernels (forward,
// input gradient, kernel gradient) in float32 at the geometries of
// bench/torch_ref.py and prints one JSON object per kernel:
// {"name": ..., "ms": median milliseconds per call, "gflops": ...}.
// bench/compare.py runs it next to the PyTorch reference.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/iresnet/iresnet/graph"
)

// geoms are the layers of the conv residual block of blocks' benchmarks:
// batch 64, 14×14, stride 1, "same" padding.
var geoms = []struct {
	name string
	g    graph.ConvGeom
}{
	{"3x3,16-32", graph.ConvGeom{N: 64, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"1x1,32-32", graph.ConvGeom{N: 64, C: 32, H: 14, W: 14, O: 32, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"3x3,32-16", graph.ConvGeom{N: 64, C: 32, H: 14, W: 14, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 1}},
}

// classifierGeoms are the convolutions of trainer.SmallMNISTClassifier's
// three scales (batch 64; 8 channels at 16×16, 32 at 8×8, 128 at 4×4;
// hidden 32, 64, 64), selected with -set classifier.
var classifierGeoms = []struct {
	name string
	g    graph.ConvGeom
}{
	{"16x16 3x3,8-32", graph.ConvGeom{N: 64, C: 8, H: 16, W: 16, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"16x16 1x1,32-32", graph.ConvGeom{N: 64, C: 32, H: 16, W: 16, O: 32, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"16x16 3x3,32-8", graph.ConvGeom{N: 64, C: 32, H: 16, W: 16, O: 8, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"8x8 3x3,32-64", graph.ConvGeom{N: 64, C: 32, H: 8, W: 8, O: 64, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"8x8 1x1,64-64", graph.ConvGeom{N: 64, C: 64, H: 8, W: 8, O: 64, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"8x8 3x3,64-32", graph.ConvGeom{N: 64, C: 64, H: 8, W: 8, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"4x4 3x3,128-64", graph.ConvGeom{N: 64, C: 128, H: 4, W: 4, O: 64, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"4x4 1x1,64-64", graph.ConvGeom{N: 64, C: 64, H: 4, W: 4, O: 64, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"4x4 3x3,64-128", graph.ConvGeom{N: 64, C: 64, H: 4, W: 4, O: 128, KH: 3, KW: 3, Stride: 1, Pad: 1}},
}

type result struct {
	Name   string  `json:"name"`
	Ms     float64 `json:"ms"`
	GFlops float64 `json:"gflops"`
}

func random(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// median returns the median time in milliseconds of reps calls of f, after
// warm calls.
func median(f func(), warm, reps int) float64 {
	for i := 0; i < warm; i++ {
		f()
	}
	ts := make([]float64, reps)
	for i := range ts {
		t0 := time.Now()
		f()
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	sort.Float64s(ts)
	return ts[reps/2]
}

func main() {
	reps := flag.Int("reps", 30, "timed calls per kernel")
	set := flag.String("set", "block", "geometries: block (those of torch_ref.py) or classifier (SmallMNISTClassifier's, Go only)")
	flag.Parse()
	gs := geoms
	switch *set {
	case "block":
	case "classifier":
		gs = classifierGeoms
	default:
		fmt.Fprintf(os.Stderr, "convbench: unknown -set %q\n", *set)
		os.Exit(2)
	}
	blas := graph.UseFastBLAS()
	fmt.Fprintf(os.Stderr, "convbench: %s, GOMAXPROCS %d\n", blas, runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(1, 1))
	enc := json.NewEncoder(os.Stdout)
	for _, c := range gs {
		g := c.g
		x, w, y := random(rng, prod(g.InShape())), random(rng, prod(g.KernelShape())), random(rng, prod(g.OutShape()))
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		flops := 2 * float64(prod(g.OutShape())*g.C*g.KH*g.KW)
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"forward", func() { graph.ConvForward(g, x, w, y) }},
			{"input-grad", func() { graph.ConvTranspose(g, y, w, dx) }},
			{"filter-grad", func() { graph.ConvFilterGrad(g, x, y, dw) }},
		} {
			ms := median(k.f, 3, *reps)
			if err := enc.Encode(result{Name: k.name + " " + c.name, Ms: ms, GFlops: flops / ms / 1e6}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
}
