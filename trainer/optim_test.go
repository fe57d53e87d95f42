package trainer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

func TestScheduledLR(t *testing.T) {
	warm := Optim{LR: 1e-3, Warmup: 100}
	cos := Optim{LR: 1e-3, Warmup: 100, DecaySteps: 1100}
	for _, c := range []struct {
		name string
		cfg  Optim
		t    int
		want float64
	}{
		{"warm-up start", warm, 1, 1e-5},
		{"warm-up middle", warm, 50, 5e-4},
		{"constant after warm-up", warm, 100, 1e-3},
		{"constant long after", warm, 1e6, 1e-3},
		{"cosine: warm-up unchanged", cos, 50, 5e-4},
		{"cosine: peak at the end of warm-up", cos, 100, 1e-3},
		{"cosine: half way", cos, 600, 5e-4},
		{"cosine: quarter way", cos, 350, 1e-3 * (1 + math.Sqrt2/2) / 2},
		{"cosine: end", cos, 1100, 0},
		{"cosine: past the end", cos, 5000, 0},
	} {
		if got := scheduledLR(c.cfg, c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: lr(%d) = %.17g, want %.17g", c.name, c.t, got, c.want)
		}
	}
}

func TestDecayMustEndAfterWarmup(t *testing.T) {
	cfg := DefaultToyConfig()
	cfg.Optim.Warmup, cfg.Optim.DecaySteps = 100, 50
	if _, err := cfg.WithDefaults(); err == nil {
		t.Fatal("decay ending before the warm-up was accepted")
	}
}

// TestSGDMomentum checks two SGD updates by hand: v₁ = g₁, p₁ = p₀ − lr·v₁;
// v₂ = μv₁ + g₂ + wd·p₁, p₂ = p₁ − lr·v₂.
func TestSGDMomentum(t *testing.T) {
	p := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))
	o := newOptimizer(Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9, WeightDecay: 0.01}, []*tensor.Dense{p})
	if _, _, err := o.step([][]float32{{0.5, 1}}); err != nil {
		t.Fatal(err)
	}
	// v₁ = g + wd·p₀ = (0.5+0.01, 1−0.02); p₁ = p₀ − 0.1·v₁.
	v1 := []float64{0.51, 0.98}
	p1 := []float64{1 - 0.1*v1[0], -2 - 0.1*v1[1]}
	if _, _, err := o.step([][]float32{{-1, 0}}); err != nil {
		t.Fatal(err)
	}
	g2 := []float64{-1, 0}
	for i, got := range p.Data().([]float32) {
		v2 := 0.9*v1[i] + g2[i] + 0.01*p1[i]
		if want := p1[i] - 0.1*v2; math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("p[%d] after two SGD steps = %.7g, want %.7g", i, got, want)
		}
	}
}

// TestScheduledLRWithoutWarmup checks the half cosine from step 0 by hand:
// lr(t) = LR·½(1 + cos(πt/T)).
func TestScheduledLRWithoutWarmup(t *testing.T) {
	cfg := Optim{LR: 0.2, DecaySteps: 8}
	for _, c := range []struct {
		t    int
		want float64
	}{
		{1, 0.1 * (1 + math.Cos(math.Pi/8))},
		{2, 0.1 * (1 + math.Sqrt2/2)},
		{4, 0.1},
		{6, 0.1 * (1 - math.Sqrt2/2)},
		{8, 0},
	} {
		if got := scheduledLR(cfg, c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("lr(%d) = %.17g, want %.17g", c.t, got, c.want)
		}
	}
}

// TestFirstStepBiasCorrection checks the first Adam and Adamax update in
// closed form. After one step the bias-corrected moments are m̂ = g and
// v̂ = g² (Adam) or u = |g| (Adamax), so each parameter moves by
// lr·g/(|g| + ε), about lr against the sign of g, whatever the size of g.
// Without bias correction Adam would move by lr·(1−β₁)g/(√(1−β₂)|g| + ε),
// 3.16·lr here, and Adamax by lr·(1−β₁), a tenth of it.
func TestFirstStepBiasCorrection(t *testing.T) {
	p0 := []float32{1, -2, 0.5, 3}
	g := []float32{0.3, -4, 1e-3, 0}
	const lr, eps = 0.01, 1e-8
	for _, alg := range []Algorithm{Adam, Adamax} {
		p := tensor.New(tensor.WithShape(len(p0)), tensor.WithBacking(append([]float32(nil), p0...)))
		o := newOptimizer(Optim{Algorithm: alg, LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: eps}, []*tensor.Dense{p})
		gotLR, norm, err := o.step([][]float32{g})
		if err != nil {
			t.Fatal(err)
		}
		if gotLR != lr {
			t.Errorf("%v: first step lr = %g, want %g", alg, gotLR, lr)
		}
		wantNorm := math.Sqrt(0.3*0.3 + 4*4 + 1e-3*1e-3)
		if math.Abs(norm-wantNorm) > 1e-6 {
			t.Errorf("%v: gradient norm = %.9g, want %.9g", alg, norm, wantNorm)
		}
		for j, got := range p.Data().([]float32) {
			gj := float64(g[j])
			want := float64(p0[j]) - lr*gj/(math.Abs(gj)+eps)
			if math.Abs(float64(got)-want) > 2e-7 {
				t.Errorf("%v: p[%d] after one step = %.9g, want %.9g (moved %.4g, want %.4g)",
					alg, j, got, want, float64(got)-float64(p0[j]), want-float64(p0[j]))
			}
		}
	}
}

// handOptimizer is the textbook update, written out here independently of
// optimizer.step, over one flat vector of parameters:
//
//	clip:   g ← g·C/‖g‖ when ‖g‖ > C (‖·‖ over all parameters), then g ← g + wd·p
//	Adam:   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
//	        p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)   (Kingma & Ba 2015, Alg. 1)
//	Adamax: m ← β₁m + (1−β₁)g;  u ← max(β₂u, |g|);
//	        p ← p − (lr/(1−β₁ᵗ))·m/(u + ε)                (Kingma & Ba 2015, Alg. 2)
//	SGD:    m ← β₁m + g;  p ← p − lr·m                     (heavy ball, PyTorch's form)
type handOptimizer struct {
	cfg     Optim
	p, m, v []float64
	t       int
}

func (h *handOptimizer) step(g []float64, lr float64) {
	h.t++
	var sq float64
	for _, x := range g {
		sq += x * x
	}
	scale := 1.0
	if n := math.Sqrt(sq); h.cfg.ClipNorm > 0 && n > h.cfg.ClipNorm {
		scale = h.cfg.ClipNorm / n
	}
	b1, b2, eps := h.cfg.Beta1, h.cfg.Beta2, h.cfg.Eps
	for j := range h.p {
		gj := g[j]*scale + h.cfg.WeightDecay*h.p[j]
		switch h.cfg.Algorithm {
		case SGD:
			h.m[j] = b1*h.m[j] + gj
			h.p[j] -= lr * h.m[j]
		case Adamax:
			h.m[j] = b1*h.m[j] + (1-b1)*gj
			h.v[j] = math.Max(b2*h.v[j], math.Abs(gj))
			h.p[j] -= lr / (1 - math.Pow(b1, float64(h.t))) * h.m[j] / (h.v[j] + eps)
		default:
			h.m[j] = b1*h.m[j] + (1-b1)*gj
			h.v[j] = b2*h.v[j] + (1-b2)*gj*gj
			mHat := h.m[j] / (1 - math.Pow(b1, float64(h.t)))
			vHat := h.v[j] / (1 - math.Pow(b2, float64(h.t)))
			h.p[j] -= lr * mHat / (math.Sqrt(vHat) + eps)
		}
	}
}

// TestOptimizerStepsByHand runs three updates of each optimizer on two
// parameter tensors and compares the parameters, the learning rate and the
// pre-clip gradient norm after every step with handOptimizer. The learning
// rates of each step are given by hand, for constant, warm-up and cosine
// schedules.
func TestOptimizerStepsByHand(t *testing.T) {
	// Two parameter tensors, (2) and (3), flattened to one vector by hand.
	p0 := [][]float32{{0.5, -1.5}, {2, 0.25, -0.75}}
	grads := [][][]float32{
		{{0.4, -0.2}, {1.5, 0, -0.05}},
		{{-0.3, 0.1}, {0.5, 2, 0.02}},
		{{0.2, 0.6}, {-1, -0.5, 0.01}},
	}
	adam := Optim{Algorithm: Adam, LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	with := func(o Optim, f func(*Optim)) Optim { f(&o); return o }
	for _, c := range []struct {
		name string
		cfg  Optim
		lrs  []float64 // learning rate of steps 1, 2, 3
	}{
		{"adam", adam, []float64{0.05, 0.05, 0.05}},
		{"adam, β₂ = 0.9", with(adam, func(o *Optim) { o.Beta2 = 0.9 }), []float64{0.05, 0.05, 0.05}},
		{"adam, weight decay", with(adam, func(o *Optim) { o.WeightDecay = 0.1 }), []float64{0.05, 0.05, 0.05}},
		{"adam, warm-up", with(adam, func(o *Optim) { o.Warmup = 2 }), []float64{0.025, 0.05, 0.05}},
		{"adam, cosine", with(adam, func(o *Optim) { o.Warmup, o.DecaySteps = 1, 3 }), []float64{0.05, 0.025, 0}},
		{"adam, clipped, weight decay", with(adam, func(o *Optim) { o.ClipNorm, o.WeightDecay = 0.5, 0.1 }), []float64{0.05, 0.05, 0.05}},
		{"adamax", with(adam, func(o *Optim) { o.Algorithm = Adamax }), []float64{0.05, 0.05, 0.05}},
		{"adamax, weight decay", with(adam, func(o *Optim) { o.Algorithm, o.WeightDecay = Adamax, 0.1 }), []float64{0.05, 0.05, 0.05}},
		{"sgd", Optim{Algorithm: SGD, LR: 0.1}, []float64{0.1, 0.1, 0.1}},
		{"sgd, momentum", Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9}, []float64{0.1, 0.1, 0.1}},
		{"sgd, momentum, weight decay", Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9, WeightDecay: 0.01}, []float64{0.1, 0.1, 0.1}},
		{"sgd, momentum, clipped", Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9, ClipNorm: 1}, []float64{0.1, 0.1, 0.1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var params []*tensor.Dense
			h := &handOptimizer{cfg: c.cfg}
			for _, p := range p0 {
				params = append(params, tensor.New(tensor.WithShape(len(p)), tensor.WithBacking(append([]float32(nil), p...))))
				for _, x := range p {
					h.p = append(h.p, float64(x))
				}
			}
			h.m, h.v = make([]float64, len(h.p)), make([]float64, len(h.p))
			o := newOptimizer(c.cfg, params)
			for s, g := range grads {
				var flat []float64
				for _, gi := range g {
					for _, x := range gi {
						flat = append(flat, float64(x))
					}
				}
				lr, norm, err := o.step(g)
				if err != nil {
					t.Fatal(err)
				}
				h.step(flat, c.lrs[s])
				if math.Abs(lr-c.lrs[s]) > 1e-15 {
					t.Errorf("step %d: lr = %.17g, want %.17g", s+1, lr, c.lrs[s])
				}
				var sq float64
				for _, x := range flat {
					sq += x * x
				}
				if math.Abs(norm-math.Sqrt(sq)) > 1e-6 {
					t.Errorf("step %d: gradient norm = %.9g, want %.9g (before clipping)", s+1, norm, math.Sqrt(sq))
				}
				j := 0
				for i, p := range params {
					for k, got := range p.Data().([]float32) {
						if want := h.p[j]; math.Abs(float64(got)-want) > 2e-6 {
							t.Errorf("step %d: param %d[%d] = %.9g, want %.9g", s+1, i, k, got, want)
						}
						j++
					}
				}
			}
		})
	}
}

// TestClipNorm checks one plain SGD step (lr 0.1, no momentum) with the
// global gradient norm clipped, written out with literal numbers: the
// gradient ((1, 2), (2, 4)) has norm 5; clipped to 2.5 it is halved. A
// gradient at or below the clip norm is used as it is. The norm returned
// is always the one before clipping.
func TestClipNorm(t *testing.T) {
	p0 := [][]float32{{1, -1}, {0.5, 2}}
	g := [][]float32{{1, 2}, {2, 4}} // ‖g‖ = √(1 + 4 + 4 + 16) = 5
	for _, c := range []struct {
		name string
		clip float64
		want [][]float64 // p0 − 0.1·g·min(1, clip/5)
	}{
		{"clipped to 2.5", 2.5, [][]float64{{1 - 0.05*1, -1 - 0.05*2}, {0.5 - 0.05*2, 2 - 0.05*4}}},
		{"clipped to 1", 1, [][]float64{{1 - 0.02*1, -1 - 0.02*2}, {0.5 - 0.02*2, 2 - 0.02*4}}},
		{"no clipping", 0, [][]float64{{1 - 0.1*1, -1 - 0.1*2}, {0.5 - 0.1*2, 2 - 0.1*4}}},
		{"below the clip norm", 10, [][]float64{{1 - 0.1*1, -1 - 0.1*2}, {0.5 - 0.1*2, 2 - 0.1*4}}},
		{"at the clip norm", 5, [][]float64{{1 - 0.1*1, -1 - 0.1*2}, {0.5 - 0.1*2, 2 - 0.1*4}}},
	} {
		var params []*tensor.Dense
		for _, p := range p0 {
			params = append(params, tensor.New(tensor.WithShape(len(p)), tensor.WithBacking(append([]float32(nil), p...))))
		}
		o := newOptimizer(Optim{Algorithm: SGD, LR: 0.1, ClipNorm: c.clip}, params)
		_, norm, err := o.step(g)
		if err != nil {
			t.Fatal(err)
		}
		if norm != 5 {
			t.Errorf("%s: returned norm %.9g, want 5 (before clipping)", c.name, norm)
		}
		for i, p := range params {
			for k, got := range p.Data().([]float32) {
				if want := c.want[i][k]; math.Abs(float64(got)-want) > 2e-7 {
					t.Errorf("%s: param %d[%d] = %.9g, want %.9g", c.name, i, k, got, want)
				}
			}
		}
	}
}

// TestOptimizerPiecesMatchOnePass checks that cutting the parameters into
// pieces that workers update concurrently changes nothing: the same Adam
// updates, bit for bit, whether each tensor is one piece or pieces of 1 to
// 4 elements (which cross no tensor boundary), and the same gradient norm
// up to the order of the float64 additions. A piece that skipped, repeated
// or misplaced elements, or a norm summed over a wrong range, would show.
func TestOptimizerPiecesMatchOnePass(t *testing.T) {
	p0 := [][]float32{{0.5, -1.5, 3, 0.125, -2}, {2}, {0.25, -0.75, 1, 1.5, -0.5, 0.75, 0.1}}
	grads := [][][]float32{
		{{0.4, -0.2, 1, 0, 0.3}, {1.5}, {0, -0.05, 0.2, 0.1, -1, 0.5, 0.25}},
		{{-0.3, 0.1, 0.5, 2, 0.02}, {-1}, {0.7, 0.3, -0.2, 0.4, 0.6, -0.8, 1.2}},
	}
	cfg := Optim{Algorithm: Adam, LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1.5, WeightDecay: 0.01}
	build := func(size int) (*optimizer, []*tensor.Dense) {
		var params []*tensor.Dense
		var sizes []int
		for _, p := range p0 {
			params = append(params, tensor.New(tensor.WithShape(len(p)), tensor.WithBacking(append([]float32(nil), p...))))
			sizes = append(sizes, len(p))
		}
		o := newOptimizer(cfg, params)
		o.pieces = cutPieces(sizes, size)
		return o, params
	}
	ref, refParams := build(pieceSize)
	if len(ref.pieces) != len(p0) {
		t.Fatalf("%d pieces for %d small tensors, want one each", len(ref.pieces), len(p0))
	}
	for _, g := range grads {
		if _, _, err := ref.step(g); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{1, 2, 3, 4} {
		o, params := build(size)
		if size == 2 && len(o.pieces) != 3+1+4 {
			t.Fatalf("pieces of 2: got %d, want 8", len(o.pieces))
		}
		for s, g := range grads {
			_, norm, err := o.step(g)
			if err != nil {
				t.Fatal(err)
			}
			var sq float64
			for _, gi := range g {
				for _, x := range gi {
					sq += float64(x) * float64(x)
				}
			}
			if math.Abs(norm-math.Sqrt(sq)) > 1e-12 {
				t.Errorf("pieces of %d, step %d: norm %.17g, want %.17g", size, s+1, norm, math.Sqrt(sq))
			}
		}
		for i := range params {
			got, want := params[i].Data().([]float32), refParams[i].Data().([]float32)
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Errorf("pieces of %d: param %d[%d] = %.9g, one pass gives %.9g", size, i, j, got[j], want[j])
				}
			}
		}
	}
}

// TestFirstNonFiniteInOrder checks that the parallel scan reports the first
// NaN or infinity in parameter then element order, whichever piece a worker
// reached first, and nothing for finite tensors.
func TestFirstNonFiniteInOrder(t *testing.T) {
	inf := float32(math.Inf(-1))
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		data [][]float32
		want nonFinite
		bad  bool
	}{
		{"finite", [][]float32{{1, 2, 3}, {4, 5}}, nonFinite{}, false},
		{"later pieces too", [][]float32{{1, 2, 3, 4, 5, 6}, {7, inf, nan, 1}}, nonFinite{1, 1, inf}, true},
		{"in the last element", [][]float32{{1, 2}, {3, 4, 5, 6, 7, nan}}, nonFinite{1, 5, nan}, true},
		{"first tensor wins", [][]float32{{1, 2, 3, 4, 5, inf}, {nan, 1}}, nonFinite{0, 5, inf}, true},
	} {
		var params []*tensor.Dense
		for _, d := range c.data {
			params = append(params, tensor.New(tensor.WithShape(len(d)), tensor.WithBacking(d)))
		}
		o := newOptimizer(Optim{Algorithm: Adam}, params)
		o.pieces = cutPieces([]int{len(c.data[0]), len(c.data[1])}, 2)
		nf, bad := o.firstNonFinite(func(i int) []float32 { return c.data[i] })
		if bad != c.bad || nf.param != c.want.param || nf.at != c.want.at ||
			math.Float32bits(nf.v) != math.Float32bits(c.want.v) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", c.name, nf, bad, c.want, c.bad)
		}
	}
}

// TestStepFlagsNonFinite: a NaN or an infinity in the gradient stops step
// before it changes anything (step count, weights, moments), and a finite
// update that overflows float32 — in a second moment (g = 1e21: (1 − β₂)g²
// is beyond float32), in a first moment, or in a weight (SGD, Adamax with
// a huge rate) — is flagged, in any of three pieces; an ordinary update is
// not.
func TestStepFlagsNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		name string
		cfg  Optim
		g    []float32
		m2   float32 // the first moment of element 2 before the step
		err  error
	}{
		{"finite", Optim{Algorithm: Adam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, []float32{1, 2, 3, 4, 5}, 0, nil},
		{"NaN gradient", Optim{Algorithm: Adam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, []float32{1, 2, 3, 4, nan}, 0, errNonFiniteGradient},
		{"infinite gradient", Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9}, []float32{inf, 2, 3, 4, 5}, 0, errNonFiniteGradient},
		{"second moment overflows", Optim{Algorithm: Adam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, []float32{1, 2, 3, 4, 1e21}, 0, errOverflow},
		{"weight overflows", Optim{Algorithm: SGD, LR: 1e30, Beta1: 0.9}, []float32{1, 2, 1e10, 4, 5}, 0, errOverflow},
		{"Adamax weight overflows", Optim{Algorithm: Adamax, LR: 1e40, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, []float32{1, 2, 3, 4, 5}, 0, errOverflow},
		// 0.9·3e38 + 3e38 is beyond float32.
		{"first moment overflows", Optim{Algorithm: SGD, LR: 1e-40, Beta1: 0.9}, []float32{1, 2, 3e38, 4, 5}, 3e38, errOverflow},
	} {
		before := []float32{0.5, -1, 2, 0.25, 3}
		p := tensor.New(tensor.WithShape(5), tensor.WithBacking(slices.Clone(before)))
		o := newOptimizer(c.cfg, []*tensor.Dense{p})
		o.pieces = cutPieces([]int{5}, 2) // three pieces
		o.m[0].Data().([]float32)[2] = c.m2
		if _, _, err := o.step([][]float32{c.g}); err != c.err {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
		}
		if c.err == errNonFiniteGradient {
			if o.t != 0 || !slices.Equal(p.Data().([]float32), before) || slices.ContainsFunc(o.m[0].Data().([]float32), func(v float32) bool { return v != 0 }) {
				t.Errorf("%s: the refused step changed the optimizer: t = %d, weights %v, first moment %v", c.name, o.t, p.Data(), o.m[0].Data())
			}
		}
	}
}

// BenchmarkOptimizerStep times one update (gradient norm, moments,
// weights, the overflow check) of Adam, Adamax and SGD on 398,848 parameters in tensors shaped
// like the small MNIST classifier's, the per-step cost outside the graph:
//
//	go test ./trainer -run - -bench OptimizerStep -cpu 1
func BenchmarkOptimizerStep(b *testing.B) {
	for _, alg := range []Algorithm{Adam, Adamax, SGD} {
		b.Run(alg.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			var params []*tensor.Dense
			var grads [][]float32
			for _, n := range []int{8 * 32 * 9, 32 * 32, 32 * 8 * 9, 32 * 64 * 9, 64 * 64, 64 * 32 * 9, 128 * 64 * 9, 64 * 64, 64 * 128 * 9, 128 * 10} {
				for range 2 {
					p, g := make([]float32, n), make([]float32, n)
					for i := range p {
						p[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
					}
					params = append(params, tensor.New(tensor.WithShape(n), tensor.WithBacking(p)))
					grads = append(grads, g)
				}
			}
			o := newOptimizer(Optim{Algorithm: alg, LR: 1e-6, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, params)
			b.ResetTimer()
			for range b.N {
				if _, _, err := o.step(grads); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSumSquares checks the four-way partial sums against a plain float64
// sum at lengths around the unrolling (a tail element dropped or counted
// twice would show), and that a NaN or an infinity anywhere reaches the
// result, which is how step finds a non-finite gradient.
func TestSumSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n <= 9; n++ {
		x := make([]float32, n)
		var want float64
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			want += float64(x[i]) * float64(x[i])
		}
		if got := sumSquares(x); math.Abs(got-want) > 1e-12*(1+want) {
			t.Errorf("n = %d: %v, want %v", n, got, want)
		}
		for i := range x {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
				y := slices.Clone(x)
				y[i] = bad
				if got := sumSquares(y); !math.IsNaN(got) && !math.IsInf(got, 0) {
					t.Errorf("n = %d, %v at %d: %v, want NaN or +Inf", n, bad, i, got)
				}
			}
		}
	}
}
