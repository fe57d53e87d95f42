package graph_test

import (
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// TestNoiseIsDrawnAtRegistration checks that a noise input holds a draw
// before any Resample (no zero probes), that the draw is reproducible from
// the input's name and differs between names, and that Resample replaces it.
func TestNoiseIsDrawnAtRegistration(t *testing.T) {
	build := func() *graph.Builder {
		b, err := graph.NewBuilder(tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.NewNoise("a", graph.Gaussian, 50, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := b.NewNoise("b", graph.Rademacher, 50, 2); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1, b2 := build(), build()
	a := b1.Noise()[0].Value.Data().([]float64)
	r := b1.Noise()[1].Value.Data().([]float64)
	var sq float64
	for i, v := range a {
		sq += v * v
		if r[i] != 1 && r[i] != -1 {
			t.Fatalf("rademacher probe %d = %g before Resample, want ±1", i, r[i])
		}
	}
	// A mean square of 100 standard normals below 0.3 has probability < 1e-12.
	if sq/float64(len(a)) < 0.3 {
		t.Fatalf("gaussian probe mean square %g before Resample: not drawn", sq/float64(len(a)))
	}
	a2 := b2.Noise()[0].Value.Data().([]float64)
	for i := range a {
		if a[i] != a2[i] {
			t.Fatalf("initial draw %d differs between two builds: %g vs %g", i, a[i], a2[i])
		}
	}
	if x, y := graph.InitialSource("a").Float64(), graph.InitialSource("b").Float64(); x == y {
		t.Fatalf("inputs a and b share their initial source (%g)", x)
	}
	first := append([]float64(nil), a...)
	b1.Resample(rand.New(rand.NewPCG(7, 8)))
	same := 0
	for i := range a {
		if a[i] == first[i] {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("Resample left %d of %d values unchanged", same, len(a))
	}
}
