package normalize

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/oracle"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// referenceMatrix is the layer's explicit operator built without the code
// under test: the naive convolution, or Wᵀ for a dense layer x ↦ x·W.
func referenceMatrix(s *SpectralNorm, w []float64) *mat.Dense {
	if s.conv != nil {
		return oracle.ConvMatrix(*s.conv, w)
	}
	in, out := s.wshape[0], s.wshape[1]
	return mat.DenseCopyOf(mat.NewDense(in, out, append([]float64(nil), w...)).T())
}

// boundGeoms covers the geometries the bound must hold for: the
// bottleneck's 3×3 and 1×1 layers, strides, asymmetric kernels and grids,
// a kernel larger than the unpadded input, and channel counts on both
// sides of the Gram matrix's smaller dimension.
var boundGeoms = []graph.ConvGeom{
	{C: 2, H: 5, W: 5, O: 3, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{C: 3, H: 8, W: 8, O: 2, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{C: 4, H: 4, W: 4, O: 3, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{C: 2, H: 6, W: 6, O: 3, KH: 3, KW: 3, Stride: 2, Pad: 1},
	{C: 2, H: 7, W: 5, O: 2, KH: 3, KW: 2, Stride: 1, Pad: 0},
	{C: 1, H: 3, W: 3, O: 4, KH: 5, KW: 5, Stride: 1, Pad: 2},
	{C: 3, H: 6, W: 4, O: 3, KH: 3, KW: 3, Stride: 3, Pad: 2},
	{C: 4, H: 12, W: 12, O: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
}

func TestConvBoundAboveExactNorm(t *testing.T) {
	for _, g := range boundGeoms {
		g.N = 1
		t.Run(g.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(g.H*g.C)))
			for trial := 0; trial < 3; trial++ {
				w := randSlice(rng, g.O*g.C*g.KH*g.KW)
				exact := largestSingularValue(t, oracle.ConvMatrix(g, w))
				got, err := ConvBound(g, w)
				if err != nil {
					t.Fatal(err)
				}
				if got < exact*(1-1e-12) {
					t.Errorf("bound %.12g below the exact norm %.12g", got, exact)
				}
				// Loose only by the circular wrap-around, which matters less
				// on larger grids; a 1×1 kernel has none. (Random kernels
				// have flat spectra, the worst case for the wrap-around.)
				slack := 2.0
				switch {
				case g.KH == 1 && g.KW == 1:
					slack = 1 + 1e-9
				case g.Stride == 1 && g.H >= 8:
					slack = 1.15
				}
				if got > exact*slack {
					t.Errorf("bound %.6g is more than %g × the exact norm %.6g", got, slack, exact)
				}
				t.Logf("trial %d: bound/exact = %.4f", trial, got/exact)
			}
		})
	}
}

func TestDenseBoundIsTheLargestSingularValue(t *testing.T) {
	// A matrix with known singular values: U·diag(s)·Vᵀ with U, V the
	// orthogonal factors of a QR decomposition of random matrices.
	rng := rand.New(rand.NewPCG(8, 8))
	const in, out = 7, 4
	sv := []float64{2.5, 1.25, 0.5, 0.125}
	var qu, qv mat.QR
	qu.Factorize(mat.NewDense(in, in, randSlice(rng, in*in)))
	qv.Factorize(mat.NewDense(out, out, randSlice(rng, out*out)))
	var u, v mat.Dense
	qu.QTo(&u)
	qv.QTo(&v)
	var w mat.Dense
	d := mat.NewDense(in, out, nil)
	for i, s := range sv {
		d.Set(i, i, s)
	}
	w.Mul(&u, d)
	w.Mul(&w, v.T())
	got, err := DenseBound(in, out, w.RawMatrix().Data)
	if err != nil {
		t.Fatal(err)
	}
	if got < sv[0] || got > sv[0]*(1+1e-9) {
		t.Errorf("DenseBound = %.15g, want %g (+ rounding margin)", got, sv[0])
	}
}

func TestBoundRejectsNonFinite(t *testing.T) {
	g := graph.ConvGeom{N: 1, C: 1, H: 3, W: 3, O: 1, KH: 3, KW: 3, Stride: 1, Pad: 1}
	w := make([]float64, 9)
	w[4] = math.NaN()
	if _, err := ConvBound(g, w); err == nil {
		t.Error("ConvBound accepted a NaN kernel")
	}
	if _, err := DenseBound(3, 3, w); err == nil {
		t.Error("DenseBound accepted a NaN weight")
	}
	if _, err := DenseBound(2, 2, w); err == nil {
		t.Error("DenseBound accepted 9 values for a 2×2 weight")
	}
}

// TestCertifyKeepsEveryLayerWithinC scales weights above and below c and
// checks the certified weight against the SVD of its explicit operator.
func TestCertifyKeepsEveryLayerWithinC(t *testing.T) {
	const coeff = 0.9
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, c := range layerCases {
			for _, target := range []float64{0.3, 5} { // exact norm before certification
				t.Run(fmt.Sprintf("%v/%s/%g", dt, c.name, target), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(9, 9))
					s, w64 := c.build(t, coeff, rng)
					data := w64.Data().([]float64)
					scale(data, target/largestSingularValue(t, referenceMatrix(s, data)))
					w := w64
					if dt == tensor.Float32 {
						w = tensor.New(tensor.WithShape(w64.Shape()...), tensor.Of(tensor.Float32))
						store(w, data)
					}
					orig := load(w)
					before, after, err := s.Certify(w)
					if err != nil {
						t.Fatal(err)
					}
					got := load(w)
					exact := largestSingularValue(t, referenceMatrix(s, got))
					if exact > coeff*(1+1e-6) {
						t.Errorf("certified weight has norm %.9g > c = %g", exact, coeff)
					}
					if after < exact*(1-1e-9) {
						t.Errorf("reported bound %.9g below the exact norm %.9g", after, exact)
					}
					if target < coeff {
						for i := range got {
							if got[i] != orig[i] {
								t.Fatalf("a weight of norm %g < c was changed at %d: %g → %g", target, i, orig[i], got[i])
							}
						}
						return
					}
					if before < target*(1-1e-6) {
						t.Errorf("bound before %.6g below the exact norm %g", before, target)
					}
					// Rescaled by exactly c/bound: proportional to the original.
					f := got[0] / orig[0]
					if want := coeff / before; math.Abs(f-want) > 1e-6*want {
						t.Errorf("weight scaled by %.9g, want c/bound = %.9g", f, want)
					}
				})
			}
		}
	}
}
