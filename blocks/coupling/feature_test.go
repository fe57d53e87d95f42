package coupling_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// trunks are the multi-scale coupling models a classifier head reads, with
// the feature map each must hand it.
var trunks = []struct {
	name  string
	build func(rng *rand.Rand) (*coupling.MultiScale, error)
	final [3]int
	split bool // half the channels leave after every scale but the last
}{
	{"glow/split", func(rng *rand.Rand) (*coupling.MultiScale, error) {
		// 1×8×8 → 4×4×4, half leaves → 2×4×4 → 8×2×2.
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 8, Width: 8, Levels: 2, Steps: 1, HiddenChannels: 3, Dtype: tensor.Float64}, rng)
	}, [3]int{8, 2, 2}, true},
	{"glow/nosplit-additive", func(rng *rand.Rand) (*coupling.MultiScale, error) {
		// 1×8×8 → 4×4×4 → 16×2×2 → 64×1×1, nothing leaves.
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 8, Width: 8, Levels: 3, Steps: 1, LevelHidden: []int{2, 3, 4},
			Coupling: coupling.Additive, Mixing: coupling.Reverse, NoSplit: true, Dtype: tensor.Float64}, rng)
	}, [3]int{64, 1, 1}, false},
	{"realnvp/split", func(rng *rand.Rand) (*coupling.MultiScale, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, Couplings: 1, FinalCouplings: 1, HiddenChannels: 3, ResBlocks: 1, Dtype: tensor.Float64}, rng)
	}, [3]int{2, 2, 2}, true},
	{"realnvp/nosplit", func(rng *rand.Rand) (*coupling.MultiScale, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, Couplings: 1, FinalCouplings: 1, HiddenChannels: 3, ResBlocks: 1, NoSplit: true, Dtype: tensor.Float64}, rng)
	}, [3]int{4, 2, 2}, false},
}

// perturbed builds a trunk and moves every learnable tensor off its
// initialization (Glow's coupling nets start at zero).
func perturbed(t *testing.T, build func(*rand.Rand) (*coupling.MultiScale, error), rng *rand.Rand) *coupling.MultiScale {
	t.Helper()
	m, err := build(rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range m.Tensors() {
		if nt.Learnable {
			addNoise(nt.Value, perturb, rng)
		}
	}
	return m
}

// TestFeatureMap checks the classifier trunk of the coupling models:
// FinalShape is the last scale's output; FeatureTensor on a computed latent
// equals FeatureMap in a graph; and both are the last scale's output
// computed scale by scale, not some other part of the latent (a factored-out
// half).
func TestFeatureMap(t *testing.T) {
	for _, c := range trunks {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			m := perturbed(t, c.build, rng)
			if got := m.FinalShape(); got != c.final {
				t.Fatalf("FinalShape %v, want %v", got, c.final)
			}
			in := m.InputShape()
			const n = 3
			x := gaussian(tensor.Float64, rng, []int{n, in[0], in[1], in[2]})

			b, fm := featureGraph(t, m, x)
			if want := (tensor.Shape{n, c.final[0], c.final[1], c.final[2]}); !fm.Shape().Eq(want) {
				t.Fatalf("FeatureMap shape %v, want %v", fm.Shape(), want)
			}
			vm := G.NewTapeMachine(b.Graph())
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			inGraph := floats(fm.Value().(*tensor.Dense))

			zt, err := blocks.Apply(m, x)
			if err != nil {
				t.Fatal(err)
			}
			ft, err := m.FeatureTensor(zt)
			if err != nil {
				t.Fatal(err)
			}
			if !ft.Shape().Eq(fm.Shape()) {
				t.Fatalf("FeatureTensor shape %v, FeatureMap %v", ft.Shape(), fm.Shape())
			}
			if d := relDiff(inGraph, floats(ft)); d > 1e-12 {
				t.Errorf("FeatureMap and FeatureTensor differ by %.3g", d)
			}

			// The last scale's output, scale by scale.
			h := x
			scales := m.Scales()
			for i, sc := range scales {
				if h, err = blocks.Apply(sc, h); err != nil {
					t.Fatal(err)
				}
				if i+1 < len(scales) && c.split {
					if _, h, err = blocks.SplitTensor(h); err != nil {
						t.Fatal(err)
					}
				}
			}
			if d := relDiff(floats(ft), floats(h)); d > 1e-12 || !h.Shape().Eq(ft.Shape()) {
				t.Errorf("feature map differs from the last scale's output (shape %v) by %.3g", h.Shape(), d)
			}
		})
	}
}

// TestFeatureMapErrors: a latent of the wrong size is refused with an
// error, not cut at the wrong place.
func TestFeatureMapErrors(t *testing.T) {
	m, err := trunks[0].build(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.FeatureTensor(tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, m.Dim()+1))); err == nil {
		t.Error("FeatureTensor took a latent one too long")
	}
	b, _ := graph.NewBuilder(tensor.Float64)
	z, _ := b.Input("z", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, m.Dim()-4)))
	if _, err := m.FeatureMap(z); err == nil {
		t.Error("FeatureMap took a latent too short")
	}
}

// TestGlowClassifierGradients checks, in float64, the gradients of the
// classification loss of a Glow trunk without factor-out under the
// i-ResNet's classifier head (Behrmann et al. 2019, §5.1) against central
// differences, for parameters of the head, of the last and of the first
// level: the head's gradient reaches through FeatureMap into every level.
func TestGlowClassifierGradients(t *testing.T) {
	for _, c := range trunks[:2] {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			m := perturbed(t, c.build, rng)
			head, err := blocks.NewClassifierHead(blocks.HeadConfig{Channels: c.final[0], Classes: 3, Dtype: tensor.Float64}, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, nt := range head.Tensors() {
				addNoise(nt.Value, perturb, rng)
			}
			x := gaussian(tensor.Float64, rng, []int{4, 1, 8, 8})
			labels := []int{0, 2, 1, 2}

			b, feat := featureGraph(t, m, x)
			logits, err := head.Logits(b, feat)
			if err != nil {
				t.Fatal(err)
			}
			ce, _, err := blocks.SoftmaxCrossEntropy(b, logits, labels)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := G.Mean(ce)
			if err != nil {
				t.Fatal(err)
			}
			var wrt G.Nodes
			var params []*graph.Param
			lastConv := "scale" + strconv.Itoa(len(m.Scales())-1) + "/layer1/net/conv_out/w"
			for _, p := range b.Params() {
				switch p.Name {
				case "head/fc/weight", "scale0/layer1/net/conv_in/w", lastConv, "scale0/actnorm0/bias":
					params = append(params, p)
					wrt = append(wrt, p.Node)
				}
			}
			if len(params) != 4 {
				var names []string
				for _, p := range b.Params() {
					names = append(names, p.Name)
				}
				t.Fatalf("found %d of the 4 parameters among %v", len(params), names)
			}
			one, err := b.Scalar("one", 1)
			if err != nil {
				t.Fatal(err)
			}
			grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(b.Graph())
			defer vm.Close()
			eval := func() float64 {
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				return loss.Value().Data().(float64)
			}
			eval()
			got := make([][]float64, len(grads))
			for i, g := range grads {
				got[i] = floats(g.Value().(*tensor.Dense))
			}
			const eps = 1e-6
			worst := 0.0
			for i, p := range params {
				d := p.Value.Data().([]float64)
				for _, j := range []int{0, len(d) / 2, len(d) - 1} {
					v := d[j]
					d[j] = v + eps
					up := eval()
					d[j] = v - eps
					down := eval()
					d[j] = v
					fd := (up - down) / (2 * eps)
					err := math.Abs(got[i][j]-fd) / (1e-4 + math.Abs(fd))
					worst = math.Max(worst, err)
					if err > 1e-4 {
						t.Errorf("%s[%d]: gradient %.8g, central difference %.8g", p.Name, j, got[i][j], fd)
					}
				}
			}
			t.Logf("largest relative gradient error %.3g", worst)
		})
	}
}

// featureGraph builds z = F(x) of the trunk m on a float64 graph and the
// feature map a head reads from it.
func featureGraph(t *testing.T, m *coupling.MultiScale, x *tensor.Dense) (b *graph.Builder, fm *G.Node) {
	t.Helper()
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	xn, err := b.Input("x", x)
	if err != nil {
		t.Fatal(err)
	}
	z, _, err := m.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	if fm, err = m.FeatureMap(z); err != nil {
		t.Fatal(err)
	}
	return b, fm
}
