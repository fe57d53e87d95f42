package coupling_test

import (
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// perturb is the noise added to every learnable tensor before the suite
// runs, so zero-initialized coupling nets (Glow) and identity ActNorm or
// scaling layers are exercised.
const perturb = 0.1

type buildFunc func(rng *rand.Rand) (blocks.Bijector, error)

func coupling1(cfg coupling.CouplingConfig) buildFunc {
	return func(rng *rand.Rand) (blocks.Bijector, error) {
		cfg.Dtype = tensor.Float64
		return coupling.NewCoupling(cfg, rng)
	}
}

// layers and models lists every bijector of the package on a tiny float64
// input.
var conformance = []struct {
	name  string
	build buildFunc
	shape []int
}{
	{"coupling/alternate-affine-tanh", coupling1(coupling.CouplingConfig{Partition: coupling.Alternate, Dim: 4, Hidden: []int{6}}), []int{3, 4}},
	{"coupling/alternate-affine-flip-odd", coupling1(coupling.CouplingConfig{Partition: coupling.Alternate, Flip: true, Dim: 5, Hidden: []int{6, 5}}), []int{3, 5}},
	{"coupling/halves-affine-sigmoid", coupling1(coupling.CouplingConfig{Partition: coupling.Halves, Scale: coupling.ScaleSigmoid, Dim: 4, Hidden: []int{6}}), []int{3, 4}},
	{"coupling/halves-affine-exp", coupling1(coupling.CouplingConfig{Partition: coupling.Halves, Scale: coupling.ScaleExp, Dim: 3, Hidden: []int{6}}), []int{3, 3}},
	{"coupling/alternate-additive", coupling1(coupling.CouplingConfig{Kind: coupling.Additive, Partition: coupling.Alternate, Dim: 4, Hidden: []int{6}}), []int{3, 4}},
	{"coupling/checkerboard-affine-resnet", coupling1(coupling.CouplingConfig{Partition: coupling.Checkerboard, Channels: 2, Height: 3, Width: 4, HiddenChannels: 4, ResBlocks: 1}), []int{2, 2, 3, 4}},
	{"coupling/checkerboard-flip-additive", coupling1(coupling.CouplingConfig{Kind: coupling.Additive, Partition: coupling.Checkerboard, Flip: true, Channels: 1, Height: 4, Width: 4, HiddenChannels: 3}), []int{2, 1, 4, 4}},
	{"coupling/channels-affine-sigmoid-zeroinit", coupling1(coupling.CouplingConfig{Partition: coupling.Channels, Scale: coupling.ScaleSigmoid, Channels: 4, Height: 2, Width: 3, HiddenChannels: 5, ZeroInit: true}), []int{2, 4, 2, 3}},
	{"coupling/channels-flip-resnet", coupling1(coupling.CouplingConfig{Partition: coupling.Channels, Flip: true, Channels: 2, Height: 3, Width: 3, HiddenChannels: 3, ResBlocks: 2}), []int{2, 2, 3, 3}},
	{"scaling", func(*rand.Rand) (blocks.Bijector, error) { return coupling.NewScaling(3, tensor.Float64) }, []int{3, 3}},
	{"invconv1x1/image", func(rng *rand.Rand) (blocks.Bijector, error) { return coupling.NewInvConv1x1(3, tensor.Float64, rng) }, []int{2, 3, 2, 2}},
	{"invconv1x1/vector", func(rng *rand.Rand) (blocks.Bijector, error) { return coupling.NewInvConv1x1(4, tensor.Float64, rng) }, []int{3, 4}},
	{"reverse/image", func(*rand.Rand) (blocks.Bijector, error) { return coupling.NewReverse(3) }, []int{2, 3, 2, 2}},
	{"permute/vector", func(*rand.Rand) (blocks.Bijector, error) { return coupling.Permute{Perm: []int{2, 0, 3, 1}}, nil }, []int{3, 4}},
	{"flatten", func(*rand.Rand) (blocks.Bijector, error) { return coupling.Flatten{Shape: []int{2, 2, 2}}, nil }, []int{2, 2, 2, 2}},
	{"nice/vector", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewNICE(coupling.NICEConfig{Dim: 4, Layers: 3, Hidden: []int{6, 6}, Dtype: tensor.Float64}, rng)
	}, []int{3, 4}},
	{"nice/image", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewNICE(coupling.NICEConfig{Channels: 1, Height: 3, Width: 3, Layers: 2, Hidden: []int{5}, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 3, 3}},
	{"realnvp/dense", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewDenseRealNVP(coupling.DenseRealNVPConfig{Dim: 3, Layers: 3, Hidden: []int{6}, Dtype: tensor.Float64}, rng)
	}, []int{3, 3}},
	{"realnvp/multiscale", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, Couplings: 2, FinalCouplings: 2, HiddenChannels: 3, ResBlocks: 1, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"realnvp/nosplit", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, Couplings: 1, FinalCouplings: 1, HiddenChannels: 3, ResBlocks: 1, NoSplit: true, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow/nosplit-level-hidden", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, Steps: 1, LevelHidden: []int{2, 3}, NoSplit: true, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow/affine-conv1x1", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, Steps: 2, HiddenChannels: 3, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow/additive-reverse", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 2, Steps: 2, HiddenChannels: 3, Coupling: coupling.Additive, Mixing: coupling.Reverse, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow/nosplit", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Levels: 1, Steps: 1, HiddenChannels: 3, NoSplit: true, Dtype: tensor.Float64}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow/dense-affine", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewDenseGlow(coupling.DenseGlowConfig{Dim: 4, Steps: 2, Hidden: []int{6}, Dtype: tensor.Float64}, rng)
	}, []int{3, 4}},
	{"glow/dense-additive-reverse", func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewDenseGlow(coupling.DenseGlowConfig{Dim: 3, Steps: 2, Hidden: []int{6}, Coupling: coupling.Additive, Mixing: coupling.Reverse, Dtype: tensor.Float64}, rng)
	}, []int{3, 3}},
}

// TestConformance runs the shared suite (round trip, log-det against the
// finite-difference Jacobian, parameter gradients against central
// differences, per-row independence, Tensorer listing) over every layer
// and model, with the suite's default float64 tolerances.
func TestConformance(t *testing.T) {
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			blockstest.Check(t, c.name, c.build, c.shape, blockstest.PerturbParams(perturb))
		})
	}
}
