package normalize

import (
	"errors"
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

// operatorMatrix builds the explicit matrix of the layer's linear map
// (rows: outputs, columns: inputs) by applying it to every basis vector.
func operatorMatrix(s *SpectralNorm, w []float64) *mat.Dense {
	nin, nout := s.u.Shape().TotalSize(), s.v.Shape().TotalSize()
	m := mat.NewDense(nout, nin, nil)
	e := make([]float64, nin)
	col := make([]float64, nout)
	for j := 0; j < nin; j++ {
		clear(e)
		e[j] = 1
		s.apply(w, e, col)
		for i := range col {
			m.Set(i, j, col[i])
		}
	}
	return m
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
			want := largestSingularValue(t, operatorMatrix(s, w.Data().([]float64)))
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
			got := largestSingularValue(t, operatorMatrix(s, wt.Data().([]float64)))
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
