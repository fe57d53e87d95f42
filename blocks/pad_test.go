package blocks_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

func TestPadChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := randTensor(tensor.Float64, rng, 2, 3, 4, 4)
	p := blocks.PadChannels{N: 5}
	y, ld := forwardValues(t, p, x)
	if !y.Shape().Eq(tensor.Shape{2, 8, 4, 4}) {
		t.Fatalf("padded shape %v, want (2, 8, 4, 4)", y.Shape())
	}
	yd, xd := y.Data().([]float64), x.Data().([]float64)
	for i := 0; i < 2; i++ {
		for k := 0; k < 8*16; k++ {
			want := 0.0
			if k < 3*16 {
				want = xd[i*48+k]
			}
			if got := yd[i*128+k]; got != want {
				t.Fatalf("y[%d][%d] = %v, want %v (the image, then zeros)", i, k, got, want)
			}
		}
	}
	for _, v := range ld.Data().([]float64) {
		if v != 0 {
			t.Errorf("log-det %v, want 0", v)
		}
	}
	back, err := p.Inverse(y)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(back, x); d != 0 {
		t.Errorf("unpadding is off by %v", d)
	}
	if pad, err := p.Padding(y); err != nil || pad != 0 {
		t.Errorf("Padding of a forward image = %v, %v; want 0", pad, err)
	}
	y.Data().([]float64)[2*128-1] = -0.25
	if pad, _ := p.Padding(y); pad != 0.25 {
		t.Errorf("Padding = %v, want 0.25", pad)
	}
	if _, err := p.Inverse(randTensor(tensor.Float64, rng, 2, 5, 4, 4)); err == nil {
		t.Error("unpadding 5 channels off a 5-channel tensor succeeded")
	}
}

// TestPaddedClassifierTrunkRoundTrip: the paper's classifier trunk (no
// initial squeeze, injective padding, no factor-out) maps images into the
// wider latent and back.
func TestPaddedClassifierTrunkRoundTrip(t *testing.T) {
	for _, dt := range []struct {
		dtype tensor.Dtype
		tol   float64
	}{{tensor.Float64, roundTripTol64}, {tensor.Float32, roundTripTol32}} {
		rng := rand.New(rand.NewPCG(3, 3))
		m, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 3, Height: 8, Width: 8, Scales: 2, Blocks: 2,
			Hidden: []int{8, 8}, PadChannels: 5, ActNorm: true, NoSplit: true,
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: dt.dtype}}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Dim(), 8*8*8; got != want {
			t.Errorf("latent size %d, want (3+5)·8·8 = %d", got, want)
		}
		if fs := m.FinalShape(); fs != [3]int{32, 4, 4} {
			t.Errorf("final shape %v, want [32 4 4]", fs)
		}
		if err := m.InitFromBatch(randTensor(dt.dtype, rng, 8, 3, 8, 8)); err != nil {
			t.Fatal(err)
		}
		x := randTensor(dt.dtype, rng, 2, 3, 8, 8)
		z, err := blocks.Apply(m, x)
		if err != nil {
			t.Fatal(err)
		}
		if !z.Shape().Eq(tensor.Shape{2, 512}) {
			t.Fatalf("latent shape %v, want (2, 512)", z.Shape())
		}
		back, err := m.Inverse(z)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(back, x); d > dt.tol {
			t.Errorf("%v: max |F⁻¹(F(x)) − x| = %.3g > %.3g", dt.dtype, d, dt.tol)
		}
	}
}

// TestActNormInitOnPaddedChannels: data-dependent ActNorm init after
// injective padding normalizes the image channels and leaves the constant
// zero channels at scale 1, so that what the blocks later write into them
// is not multiplied by 1/eps.
func TestActNormInitOnPaddedChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	a, err := blocks.NewActNorm(4, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	c := chain(t, blocks.PadChannels{N: 2}, a)
	x := randTensor(tensor.Float64, rng, 16, 2, 3, 3)
	if err := c.InitFromBatch(x); err != nil {
		t.Fatal(err)
	}
	var logScale []float64
	for _, nt := range a.Tensors() {
		if nt.Name == "logscale" {
			logScale = nt.Value.Data().([]float64)
		}
	}
	if len(logScale) != 4 {
		t.Fatalf("log-scales %v", logScale)
	}
	for ch := 2; ch < 4; ch++ {
		if logScale[ch] != 0 {
			t.Errorf("padded channel %d: log-scale %v, want 0 (scale 1)", ch, logScale[ch])
		}
	}
	y, _ := forwardValues(t, c, x)
	yd := y.Data().([]float64)
	for ch := 0; ch < 2; ch++ { // the image channels come out standardized
		var sum, sq float64
		for b := 0; b < 16; b++ {
			for _, v := range yd[(b*4+ch)*9 : (b*4+ch+1)*9] {
				sum += v
				sq += v * v
			}
		}
		mean, vr := sum/144, sq/144-(sum/144)*(sum/144)
		if math.Abs(mean) > 1e-9 || math.Abs(vr-1) > 1e-4 {
			t.Errorf("channel %d after ActNorm: mean %.3g, variance %.6f; want 0 and 1", ch, mean, vr)
		}
	}
}
