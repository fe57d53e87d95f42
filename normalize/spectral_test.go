package normalize

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/graph"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sigmaTol is the required relative agreement of σ̂ with the SVD (issue 2).
const sigmaTol = 1e-4

type layerCase struct {
	name string
	geom *graph.ConvGeom // nil: dense (in, out) below
	in   int
	out  int
}

var layerCases = []layerCase{
	{name: "dense 6x9", in: 6, out: 9},
	{name: "dense 8x3", in: 8, out: 3},
	{name: "conv3x3 pad1", geom: &graph.ConvGeom{N: 1, C: 2, H: 5, W: 5, O: 3, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{name: "conv1x1", geom: &graph.ConvGeom{N: 1, C: 4, H: 4, W: 4, O: 3, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{name: "conv3x3 stride2", geom: &graph.ConvGeom{N: 1, C: 2, H: 6, W: 6, O: 3, KH: 3, KW: 3, Stride: 2, Pad: 1}},
}

func (c layerCase) build(t *testing.T, coeff float64, rng *rand.Rand) (*SpectralNorm, *tensor.Dense) {
	t.Helper()
	var s *SpectralNorm
	var err error
	if c.geom != nil {
		s, err = NewConv(*c.geom, coeff, tensor.Float64, rng)
	} else {
		s, err = NewDense(c.in, c.out, coeff, tensor.Float64, rng)
	}
	if err != nil {
		t.Fatal(err)
	}
	shape := s.WeightShape()
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return s, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func largestSingularValue(t *testing.T, m *mat.Dense) float64 {
	t.Helper()
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	return svd.Values(nil)[0]
}

func TestSigmaMatchesSVD(t *testing.T) {
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			s, w := c.build(t, 0.9, rng)
			if _, err := s.Converge(w, 1e-10, 5000); err != nil {
				t.Fatal(err)
			}
			want := largestSingularValue(t, referenceMatrix(s, w.Data().([]float64)))
			if d := math.Abs(s.Sigma()-want) / want; d > sigmaTol {
				t.Errorf("σ̂ = %.8g, SVD %.8g (relative diff %.3g)", s.Sigma(), want, d)
			}
		})
	}
}

// normalizedWeight runs the graph that builds W̃ and returns its value.
func normalizedWeight(t *testing.T, s *SpectralNorm, w *tensor.Dense) *tensor.Dense {
	t.Helper()
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	wn, err := b.Param("w", w)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Normalize(b, "w", wn)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	v, err := graph.Value(out)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNormalizedOperatorNormAtMostCoeff(t *testing.T) {
	const coeff = 0.7
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 2))
			s, w := c.build(t, coeff, rng)
			if _, err := s.Converge(w, 1e-10, 5000); err != nil {
				t.Fatal(err)
			}
			wt := normalizedWeight(t, s, w)
			got := largestSingularValue(t, referenceMatrix(s, wt.Data().([]float64)))
			if got > coeff*(1+sigmaTol) {
				t.Errorf("‖W̃‖₂ = %.8g > c(1+%g) = %.8g", got, sigmaTol, coeff*(1+sigmaTol))
			}
			if got < coeff*(1-sigmaTol) {
				t.Errorf("‖W̃‖₂ = %.8g, want ≈ c = %g since ‖W‖₂ = %.4g > c", got, coeff, s.Sigma())
			}
		})
	}
}

// TestNormalizeGradient compares ∂/∂W Σ R⊙W̃ with central differences,
// with u and v fixed (the gradient the trainer uses).
func TestNormalizeGradient(t *testing.T) {
	for _, c := range layerCases {
		for _, coeff := range []float64{0.5, 0.999} {
			rng := rand.New(rand.NewPCG(3, 3))
			s, w := c.build(t, coeff, rng)
			if coeff > 0.99 { // shrink W so that σ̂ < c: W̃ = W
				for i, v := range w.Data().([]float64) {
					w.Data().([]float64)[i] = v * 0.01
				}
			}
			if _, err := s.Update(w, 20); err != nil {
				t.Fatal(err)
			}
			b, _ := graph.NewBuilder(tensor.Float64)
			wn, _ := b.Param("w", w)
			wt, err := s.Normalize(b, "w", wn)
			if err != nil {
				t.Fatal(err)
			}
			r := tensor.New(tensor.WithShape(w.Shape()...), tensor.WithBacking(randSlice(rng, w.Shape().TotalSize())))
			rn, _ := b.Input("r", r)
			f := G.Must(G.Sum(G.Must(G.HadamardProd(wt, rn))))
			one, _ := b.Scalar("one", 1)
			grads, err := graph.VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{wn})
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(b.Graph())
			run := func() float64 {
				m.Reset()
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				return f.Value().Data().(float64)
			}
			run()
			sym := append([]float64(nil), grads[0].Value().Data().([]float64)...)
			data := w.Data().([]float64)
			const h, tol = 1e-6, 1e-6
			for i := range data {
				orig := data[i]
				data[i] = orig + h
				fp := run()
				data[i] = orig - h
				fm := run()
				data[i] = orig
				fd := (fp - fm) / (2 * h)
				if d := math.Abs(sym[i] - fd); d > tol*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s c=%g: ∂f/∂w[%d] = %.10g, finite difference %.10g (diff %g)", c.name, coeff, i, sym[i], fd, d)
				}
			}
			m.Close()
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func TestInvalidCoefficient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []float64{0, 1, 1.5, -0.1, math.NaN()} {
		if _, err := NewDense(2, 2, c, tensor.Float64, rng); err == nil {
			t.Errorf("NewDense accepted coefficient %v", c)
		}
	}
}

func TestConvergeReportsFailure(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	s, w := layerCases[0].build(t, 0.9, rng)
	_, err := s.Converge(w, 1e-15, 1)
	var nc *NotConvergedError
	if !errors.As(err, &nc) {
		t.Fatalf("Converge with 1 iteration returned %v, want *NotConvergedError", err)
	}
}

// TestRepeatedOneStepUpdatesConverge calls Update with one step at a time,
// as the trainer does every training step: the vectors must carry over
// between calls so that σ̂ still reaches the SVD value.
func TestRepeatedOneStepUpdatesConverge(t *testing.T) {
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 4))
			s, w := c.build(t, 0.9, rng)
			for i := 0; i < 400; i++ {
				if _, err := s.Update(w, 1); err != nil {
					t.Fatal(err)
				}
			}
			want := largestSingularValue(t, referenceMatrix(s, w.Data().([]float64)))
			if d := math.Abs(s.Sigma()-want) / want; d > sigmaTol {
				t.Errorf("σ̂ after 400 one-step updates = %.8g, SVD %.8g (relative diff %.3g)", s.Sigma(), want, d)
			}
		})
	}
}

// TestNormalizeLeavesContractiveWeights: W̃ = W / max(1, σ̂/c) is W itself
// when σ̂ < c (a weight is never scaled up), and W·c/σ̂ above c.
func TestNormalizeLeavesContractiveWeights(t *testing.T) {
	for _, c := range layerCases {
		for _, target := range []float64{0.25, 3} {
			t.Run(fmt.Sprintf("%s/%g", c.name, target), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 5))
				s, w := c.build(t, 0.9, rng)
				data := w.Data().([]float64)
				scale(data, target/largestSingularValue(t, referenceMatrix(s, data)))
				if _, err := s.Converge(w, 1e-12, 5000); err != nil {
					t.Fatal(err)
				}
				got := normalizedWeight(t, s, w).Data().([]float64)
				f := 1.0
				if target > 0.9 {
					f = 0.9 / s.Sigma()
				}
				for i := range data {
					if d := math.Abs(got[i] - f*data[i]); d > 1e-12*math.Abs(data[i]) {
						t.Fatalf("W̃[%d] = %.15g, want %.15g·W = %.15g (‖W‖₂ = %g, c = 0.9)", i, got[i], f, f*data[i], target)
					}
				}
			})
		}
	}
}

// TestApplyMatchesReference checks the package's operator (used by the
// power iteration) against the naive one, column by column.
func TestApplyMatchesReference(t *testing.T) {
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(6, 6))
			s, w := c.build(t, 0.9, rng)
			wd := w.Data().([]float64)
			ref := referenceMatrix(s, wd)
			nout, nin := ref.Dims()
			e, col, back := make([]float64, nin), make([]float64, nout), make([]float64, nin)
			for j := 0; j < nin; j++ {
				clear(e)
				e[j] = 1
				s.apply(wd, e, col)
				for i := range col {
					if d := math.Abs(col[i] - ref.At(i, j)); d > 1e-12 {
						t.Fatalf("A[%d, %d] = %g, reference %g", i, j, col[i], ref.At(i, j))
					}
				}
			}
			for i := 0; i < nout; i++ { // rows of A are columns of Aᵀ
				col = make([]float64, nout)
				col[i] = 1
				s.applyT(wd, col, back)
				for j := range back {
					if d := math.Abs(back[j] - ref.At(i, j)); d > 1e-12 {
						t.Fatalf("Aᵀ[%d, %d] = %g, reference %g", j, i, back[j], ref.At(i, j))
					}
				}
			}
		})
	}
}
