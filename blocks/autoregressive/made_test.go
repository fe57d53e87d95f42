package autoregressive_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// roundTripTol32 bounds max |Inverse(Forward(x)) − x| / (1 + max |x|) in
// float32: the sequential inverse feeds each recovered input back into the
// network, so rounding of ~1e-7 per pass compounds over D passes and
// layers; 1e-4 leaves two orders of margin on D ≤ 8.
const roundTripTol32 = 1e-4

func newMADE(cfg autoregressive.MADEConfig) func(rng *rand.Rand) (blocks.Bijector, error) {
	return func(rng *rand.Rand) (blocks.Bijector, error) {
		cfg.Dtype = tensor.Float64
		return autoregressive.NewMADE(cfg, rng)
	}
}

// TestMADEConformance runs the shared suite (round trip, log-det against
// the LU log-det of a finite-difference Jacobian, parameter gradients
// against central differences, row independence, tensor listing) over
// MADE variants in float64 with the suite's default tolerances.
func TestMADEConformance(t *testing.T) {
	cases := []struct {
		name  string
		cfg   autoregressive.MADEConfig
		shape []int
	}{
		{"d=3 elu", autoregressive.MADEConfig{Dim: 3, Hidden: []int{8, 8}, Act: graph.ELU}, []int{3, 3}},
		{"d=4 softplus random degrees permuted order", autoregressive.MADEConfig{Dim: 4, Hidden: []int{6}, Act: graph.Softplus, Order: []int{2, 0, 3, 1}, RandomDegrees: true}, []int{2, 4}},
		{"d=2 relu", autoregressive.MADEConfig{Dim: 2, Hidden: []int{5, 5}}, []int{2, 2}},
		{"d=3 linear (no hidden layer)", autoregressive.MADEConfig{Dim: 3, Hidden: []int{}}, []int{2, 3}},
		{"d=1", autoregressive.MADEConfig{Dim: 1, Hidden: []int{4}, Act: graph.ELU}, []int{3, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blockstest.Check(t, "made "+c.name, newMADE(c.cfg), c.shape, blockstest.MaxGradEntries(6))
		})
	}
}

// TestMAFConformance runs the shared suite over MAF stacks, with and
// without ActNorm (initialized by the suite from a random batch).
func TestMAFConformance(t *testing.T) {
	for _, an := range []bool{false, true} {
		name := "maf"
		if an {
			name += " actnorm"
		}
		t.Run(name, func(t *testing.T) {
			build := func(rng *rand.Rand) (blocks.Bijector, error) {
				return autoregressive.NewMAF(autoregressive.MAFConfig{Dim: 3, Layers: 3, Hidden: []int{6}, Act: graph.ELU, ActNorm: an, Dtype: tensor.Float64}, rng)
			}
			blockstest.Check(t, name, build, []int{3, 3}, blockstest.MaxGradEntries(4))
		})
	}
}

// TestMADEAutoregressive checks the masks' purpose on the numeric map
// u = MADE(x) (not on the masks themselves). In the chosen order o:
//   - ∂u_{o_i}/∂x_{o_j} (finite differences) is exactly zero for j > i, and
//     nonzero for j ≤ i (with deterministic degrees and hidden widths
//     ≥ D − 1 every connection the order allows exists, so the masks do
//     not cut too much either);
//   - u_{o_i} is affine in x_{o_i}, i.e. μ_{o_i} and α_{o_i} do not depend on
//     x_{o_i}: the conditionals' Jacobian is strictly lower triangular. The
//     second central difference of u_{o_i} in x_{o_i} with step 1e-3 is
//     then rounding only (~1e-16/h² ≈ 1e-10), while a diagonal connection
//     makes it a genuine curvature: 1e-4 to 5e-4 when the output mask was
//     made non-strict (checked by hand); 1e-6 separates the two.
func TestMADEAutoregressive(t *testing.T) {
	orders := [][]int{{0, 1, 2, 3, 4}, {3, 0, 4, 2, 1}}
	for _, order := range orders {
		rng := rand.New(rand.NewPCG(3, 4))
		m, err := autoregressive.NewMADE(autoregressive.MADEConfig{Dim: 5, Hidden: []int{7, 9}, Act: graph.Softplus, Order: order, Dtype: tensor.Float64}, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 2, 5)
		const h = 1e-3
		ux, err := blocks.Apply(m, x)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range order {
			xp, xm := x.Clone().(*tensor.Dense), x.Clone().(*tensor.Dense)
			for r := 0; r < 2; r++ {
				xp.Data().([]float64)[r*5+o] += h
				xm.Data().([]float64)[r*5+o] -= h
			}
			up, err := blocks.Apply(m, xp)
			if err != nil {
				t.Fatal(err)
			}
			um, err := blocks.Apply(m, xm)
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < 2; r++ {
				k := r*5 + o
				d2 := (up.Data().([]float64)[k] - 2*ux.Data().([]float64)[k] + um.Data().([]float64)[k]) / (h * h)
				if math.Abs(d2) > 1e-6 {
					t.Errorf("order %v row %d: ∂²u_%d/∂x_%d² ≈ %.3g, want 0 (μ and α must not see x_%d)", order, r, o, o, d2, o)
				}
			}
		}
		jac, err := blockstest.FiniteDifferenceJacobian(m, x, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		for r, j := range jac {
			for i, oi := range order {
				for k, ok := range order {
					v := j.At(oi, ok)
					switch {
					case k > i && v != 0:
						t.Errorf("order %v row %d: ∂u_%d/∂x_%d = %g, want exactly 0 (x_%d comes later)", order, r, oi, ok, v, ok)
					case k <= i && math.Abs(v) < 1e-9:
						t.Errorf("order %v row %d: ∂u_%d/∂x_%d = %g, want nonzero", order, r, oi, ok, v)
					}
				}
			}
		}
	}
}

// TestMADEMaskedGradientsZero checks that the gradient of a loss w.r.t. a
// masked-out weight is exactly zero, so training cannot break the
// autoregressive structure.
func TestMADEMaskedGradientsZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, err := autoregressive.NewMADE(autoregressive.MADEConfig{Dim: 4, Hidden: []int{5}, Act: graph.ELU, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	masks := map[string]*tensor.Dense{}
	for _, nt := range m.Tensors() {
		if !nt.Learnable {
			masks[nt.Name] = nt.Value
		}
	}
	grads := lossGradients(t, m, randTensor(rng, 3, 4), rng)
	checked := 0
	for name, g := range grads {
		var mask *tensor.Dense
		switch {
		case strings.HasPrefix(name, "fc0/w"):
			mask = masks["fc0/mask"]
		case strings.HasPrefix(name, "out/w_"):
			mask = masks["out/mask"]
		default:
			continue
		}
		md := mask.Data().([]float64)
		for i, v := range g {
			if md[i] == 0 {
				checked++
				if v != 0 {
					t.Errorf("∂loss/∂%s[%d] = %g at a masked entry, want 0", name, i, v)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no masked entries found; the test checks nothing")
	}
}

// TestMADEInputDegrees checks the degree assignment of Germain et al.
func TestMADEInputDegrees(t *testing.T) {
	got := autoregressive.InputDegrees([]int{2, 0, 1})
	if want := []int{2, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("InputDegrees([2 0 1]) = %v, want %v", got, want)
	}
}

// TestRoundTripFloat32 checks the sequential inverse in float32.
func TestRoundTripFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	maf, err := autoregressive.NewMAF(autoregressive.MAFConfig{Dim: 6, Layers: 3, Hidden: []int{16}, ActNorm: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(4, 6), tensor.WithBacking(make([]float32, 24)))
	xd := x.Data().([]float32)
	for i := range xd {
		xd[i] = float32(rng.NormFloat64())
	}
	if err := maf.InitFromBatch(x); err != nil {
		t.Fatal(err)
	}
	y, err := blocks.Apply(maf, x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := maf.Inverse(y)
	if err != nil {
		t.Fatal(err)
	}
	bd := back.Data().([]float32)
	worst, scale := 0.0, 1.0
	for i := range xd {
		worst = math.Max(worst, math.Abs(float64(bd[i]-xd[i])))
		scale = math.Max(scale, 1+math.Abs(float64(xd[i])))
	}
	if worst > roundTripTol32*scale {
		t.Errorf("float32 round trip error %.3g > %.3g", worst, roundTripTol32*scale)
	}
}

// TestConfigValidate checks that every out-of-range field is refused with
// an error naming it, and that the zero-valued defaults pass.
func TestConfigValidate(t *testing.T) {
	ok := []autoregressive.MADEConfig{{Dim: 1}, {Dim: 5, Hidden: []int{}}, {Dim: 3, Order: []int{2, 1, 0}}}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []struct {
		cfg  autoregressive.MADEConfig
		want string
	}{
		{autoregressive.MADEConfig{}, "dim 0"},
		{autoregressive.MADEConfig{Dim: -2}, "dim -2"},
		{autoregressive.MADEConfig{Dim: autoregressive.MaxDim + 1}, "dim"},
		{autoregressive.MADEConfig{Dim: 2, Hidden: []int{4, 0}}, "hidden width 1 is 0"},
		{autoregressive.MADEConfig{Dim: 2, Hidden: make([]int, autoregressive.MaxHiddenLayers+1)}, "hidden layers"},
		{autoregressive.MADEConfig{Dim: 2, Act: graph.Activation(99)}, "activation 99"},
		{autoregressive.MADEConfig{Dim: 3, Order: []int{0, 1}}, "order has 2 entries"},
		{autoregressive.MADEConfig{Dim: 3, Order: []int{0, 1, 3}}, "order[2] = 3"},
		{autoregressive.MADEConfig{Dim: 3, Order: []int{0, 1, 1}}, "twice"},
		{autoregressive.MADEConfig{Dim: 3, Dtype: tensor.Int}, "dtype"},
	}
	for _, c := range bad {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
		if _, err := autoregressive.NewMADE(c.cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("NewMADE(%+v) succeeded", c.cfg)
		}
	}
	badMAF := []struct {
		cfg  autoregressive.MAFConfig
		want string
	}{
		{autoregressive.MAFConfig{Dim: 2, Layers: -1}, "layers -1"},
		{autoregressive.MAFConfig{Dim: 2, Layers: autoregressive.MaxLayers + 1}, "layers"},
		{autoregressive.MAFConfig{Dim: 0}, "dim 0"},
		{autoregressive.MAFConfig{Dim: 2, Hidden: []int{-3}}, "hidden width 0 is -3"},
	}
	for _, c := range badMAF {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
		if _, err := autoregressive.NewMAF(c.cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("NewMAF(%+v) succeeded", c.cfg)
		}
	}
}

// TestConfigJSON checks the snake_case JSON form and its round trip.
func TestConfigJSON(t *testing.T) {
	cfg := autoregressive.MAFConfig{Dim: 784, Layers: 5, Hidden: []int{1024}, Act: graph.ELU, ActNorm: true, RandomDegrees: true}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dim":784,"layers":5,"hidden":[1024],"act":"elu","act_norm":true,"random_degrees":true}`
	if string(js) != want {
		t.Errorf("json = %s, want %s", js, want)
	}
	var back autoregressive.MAFConfig
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip %+v, want %+v", back, cfg)
	}
}

// TestRandomDegreesFromRNG checks that random degrees come from the rng
// passed in: equal seeds give equal masks, different seeds different ones.
func TestRandomDegreesFromRNG(t *testing.T) {
	mask := func(seed uint64) []float64 {
		m, err := autoregressive.NewMADE(autoregressive.MADEConfig{Dim: 8, Hidden: []int{16}, RandomDegrees: true, Dtype: tensor.Float64}, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range m.Tensors() {
			if nt.Name == "fc0/mask" {
				return nt.Value.Data().([]float64)
			}
		}
		t.Fatal("no fc0/mask")
		return nil
	}
	if !reflect.DeepEqual(mask(1), mask(1)) {
		t.Error("equal seeds gave different masks")
	}
	if reflect.DeepEqual(mask(1), mask(2)) {
		t.Error("different seeds gave equal masks")
	}
}

func randTensor(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	d := t.Data().([]float64)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return t
}
