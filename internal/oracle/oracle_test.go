package oracle

import (
	"math"
	"testing"

	"github.com/iresnet/iresnet/graph"
	"gonum.org/v1/gonum/mat"
)

// TestConvMatrixByHand checks small cases worked out by hand: a kernel
// that is 1 at its centre is the identity with "same" padding, and a
// kernel of ones sums each pixel's in-bounds neighbourhood.
func TestConvMatrixByHand(t *testing.T) {
	g := graph.ConvGeom{N: 1, C: 1, H: 3, W: 3, O: 1, KH: 3, KW: 3, Stride: 1, Pad: 1}
	centre := []float64{0, 0, 0, 0, 1, 0, 0, 0, 0}
	if m := ConvMatrix(g, centre); !mat.Equal(m, identity(9)) {
		t.Errorf("centre kernel:\n%v", mat.Formatted(m))
	}
	ones := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}
	m := ConvMatrix(g, ones)
	// Row sums: corners see 4 pixels, edges 6, the centre 9.
	want := []float64{4, 6, 4, 6, 9, 6, 4, 6, 4}
	for i, w := range want {
		if s := mat.Sum(m.RowView(i)); s != w {
			t.Errorf("row %d sums to %g, want %g", i, s, w)
		}
	}
	// Stride 2 without padding on 3×3 keeps only the top-left window.
	g.Stride, g.Pad = 2, 0
	if m := ConvMatrix(g, ones); m.RawMatrix().Rows != 1 || mat.Sum(m) != 9 {
		t.Errorf("stride 2: %v", mat.Formatted(m))
	}
}

func TestNormOfKnownMatrices(t *testing.T) {
	d := mat.NewDiagDense(600, nil)
	for i := 0; i < 600; i++ {
		d.SetDiag(i, float64(i%7)+0.5)
	}
	for _, m := range []mat.Matrix{mat.DenseCopyOf(d), mat.NewDense(2, 3, []float64{3, 0, 0, 0, -4, 0})} {
		n, err := Norm(m)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := m.Dims()
		want := 6.5
		if r == 2 {
			want = 4
		}
		if math.Abs(n-want) > 1e-12 {
			t.Errorf("norm %.15g, want %g", n, want)
		}
	}
}

func identity(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		m.Set(i, i, 1)
	}
	return m
}
