package blocks_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Central differences in float64 with step clsStep have truncation error
// O(h²) ≈ 1e-10 and rounding error O(ε/h) ≈ 1e-11 for these smooth losses;
// the relative error |sym − fd| / max(|fd|, clsFloor) must stay below
// clsRelTol.
const (
	clsStep   = 1e-5
	clsRelTol = 1e-6
	clsFloor  = 1e-3
)

func clsTensor(data []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func clsRand(rng *rand.Rand, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return clsTensor(d, shape...)
}

func clsHead(t *testing.T, c, k int, rng *rand.Rand) *blocks.ClassifierHead {
	t.Helper()
	h, err := blocks.NewClassifierHead(blocks.HeadConfig{Channels: c, Classes: k, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func clsTensorNamed(t *testing.T, h *blocks.ClassifierHead, name string) *tensor.Dense {
	t.Helper()
	for _, nt := range h.Tensors() {
		if nt.Name == name {
			return nt.Value
		}
	}
	t.Fatalf("head has no tensor %q", name)
	return nil
}

// clsCheckGradients runs the graph of b, reads the symbolic gradients grads
// of the scalar loss w.r.t. the tensors bound to wrt (checking the entries
// listed in idx, or all when idx[i] is nil) and compares them with central
// differences.
func clsCheckGradients(t *testing.T, b *graph.Builder, loss *G.Node, names []string, vals []*tensor.Dense, grads G.Nodes, idx [][]int) {
	t.Helper()
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return loss.Value().Data().(float64)
	}
	f0 := run()
	if math.IsNaN(f0) || math.IsInf(f0, 0) {
		t.Fatalf("loss = %v", f0)
	}
	syms := make([][]float64, len(grads)) // read before any perturbation
	for i, g := range grads {
		if g == nil {
			t.Fatalf("no gradient for %s", names[i])
		}
		syms[i] = append([]float64(nil), g.Value().Data().([]float64)...)
	}
	checked, worst := 0, 0.0
	for i, v := range vals {
		sym := syms[i]
		data := v.Data().([]float64)
		js := idx[i]
		if js == nil {
			js = make([]int, len(data))
			for j := range js {
				js[j] = j
			}
		}
		for _, j := range js {
			orig := data[j]
			data[j] = orig + clsStep
			fp := run()
			data[j] = orig - clsStep
			fm := run()
			data[j] = orig
			fd := (fp - fm) / (2 * clsStep)
			d := math.Abs(sym[j]-fd) / math.Max(math.Abs(fd), clsFloor)
			worst = math.Max(worst, d)
			if d > clsRelTol {
				t.Errorf("∂loss/∂%s[%d] = %.12g, finite difference %.12g (relative error %.2g)", names[i], j, sym[j], fd, d)
			}
			checked++
		}
	}
	t.Logf("loss %.6g; %d entries in %d tensors checked, worst relative error %.2g", f0, checked, len(vals), worst)
}

// TestClassifierHeadLogitsMatchDirect sets every parameter and the feature
// map by hand and compares the logits with a direct computation.
func TestClassifierHeadLogitsMatchDirect(t *testing.T) {
	const n, c, hh, ww, k = 2, 2, 2, 2, 3
	h := clsHead(t, c, k, rand.New(rand.NewPCG(1, 1)))
	bias := []float64{0.5, -1}
	logScale := []float64{math.Log(2), math.Log(0.5)}
	w := []float64{1, -2, 0.5, 3, 0.25, -1} // (C, K)
	bb := []float64{0.1, -0.2, 0.3}
	copy(clsTensorNamed(t, h, "head/norm/bias").Data().([]float64), bias)
	copy(clsTensorNamed(t, h, "head/norm/logscale").Data().([]float64), logScale)
	copy(clsTensorNamed(t, h, "head/fc/weight").Data().([]float64), w)
	copy(clsTensorNamed(t, h, "head/fc/bias").Data().([]float64), bb)
	feat := []float64{
		1, -2, 0, 3, // n0 c0
		-1, 4, 2, -3, // n0 c1
		0.5, 0.5, -0.25, -4, // n1 c0
		1, 1, 1, -10, // n1 c1
	}
	b, _ := graph.NewBuilder(tensor.Float64)
	x, _ := b.Input("feat", clsTensor(feat, n, c, hh, ww))
	logits, err := h.Logits(b, x)
	if err != nil {
		t.Fatal(err)
	}
	if !logits.Shape().Eq(tensor.Shape{n, k}) {
		t.Fatalf("logits shape %v, want (%d, %d)", logits.Shape(), n, k)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := logits.Value().Data().([]float64)
	for r := 0; r < n; r++ {
		pooled := make([]float64, c)
		for ch := 0; ch < c; ch++ {
			for i := 0; i < hh*ww; i++ {
				v := (feat[(r*c+ch)*hh*ww+i] + bias[ch]) * math.Exp(logScale[ch])
				pooled[ch] += math.Max(v, 0) / (hh * ww)
			}
		}
		for j := 0; j < k; j++ {
			want := bb[j]
			for ch := 0; ch < c; ch++ {
				want += pooled[ch] * w[ch*k+j]
			}
			if math.Abs(got[r*k+j]-want) > 1e-12 {
				t.Errorf("logits[%d, %d] = %.15g, want %.15g", r, j, got[r*k+j], want)
			}
		}
	}
	want := []string{"head/norm/bias", "head/norm/logscale", "head/fc/weight", "head/fc/bias"}
	for i, p := range b.Params() {
		if p.Name != want[i] {
			t.Errorf("parameter %d is %q, want %q (the Tensors name)", i, p.Name, want[i])
		}
	}
}

// directCE is −log softmax(l)[y] computed naively, for moderate logits.
func directCE(l []float64, y int) float64 {
	s := 0.0
	for _, v := range l {
		s += math.Exp(v)
	}
	return -math.Log(math.Exp(l[y]) / s)
}

func runCE(t *testing.T, logits *tensor.Dense, labels []int) (ce, grad []float64) {
	t.Helper()
	b, _ := graph.NewBuilder(tensor.Float64)
	ln, _ := b.Input("logits", logits)
	cen, _, err := blocks.SoftmaxCrossEntropy(b, ln, labels)
	if err != nil {
		t.Fatal(err)
	}
	loss := G.Must(G.Sum(cen))
	one, _ := b.Scalar("one", 1)
	g, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, G.Nodes{ln})
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), cen.Value().Data().([]float64)...), append([]float64(nil), g[0].Value().Data().([]float64)...)
}

// TestClassifierCrossEntropyMatchesDirect compares the loss with −log softmax and its
// gradient with softmax − onehot, for ordinary logits and for logits of
// ±1000, where the naive formula overflows but the loss must stay finite.
func TestClassifierCrossEntropyMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, k = 5, 4
	logits := clsRand(rng, n, k)
	labels := []int{0, 3, 1, 2, 3}
	ce, grad := runCE(t, logits, labels)
	ld := logits.Data().([]float64)
	for r := 0; r < n; r++ {
		row := ld[r*k : (r+1)*k]
		if want := directCE(row, labels[r]); math.Abs(ce[r]-want) > 1e-12 {
			t.Errorf("ce[%d] = %.15g, want %.15g", r, ce[r], want)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v)
		}
		for j := 0; j < k; j++ {
			want := math.Exp(row[j]) / s
			if j == labels[r] {
				want--
			}
			if math.Abs(grad[r*k+j]-want) > 1e-12 {
				t.Errorf("∂ce/∂logits[%d, %d] = %.15g, want %.15g", r, j, grad[r*k+j], want)
			}
		}
	}

	// Extreme logits: exact values from logsumexp by hand.
	big := clsTensor([]float64{
		1000, -1000, 0,
		1000, -1000, 0,
		1000, -1000, 0,
		-1000, -1000, -1000,
		1000, 1000, -1000,
	}, 5, 3)
	ce, grad = runCE(t, big, []int{0, 1, 2, 1, 0})
	want := []float64{0, 2000, 1000, math.Log(3), math.Log(2)}
	for i, v := range ce {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-want[i]) > 1e-9*math.Max(1, want[i]) {
			t.Errorf("extreme logits: ce[%d] = %v, want %v", i, v, want[i])
		}
	}
	wantGrad := []float64{
		0, 0, 0,
		1, -1, 0,
		1, 0, -1,
		1.0 / 3, -2.0 / 3, 1.0 / 3,
		-0.5, 0.5, 0,
	}
	for i, v := range grad {
		if math.IsNaN(v) || math.Abs(v-wantGrad[i]) > 1e-12 {
			t.Errorf("extreme logits: gradient[%d] = %v, want %v", i, v, wantGrad[i])
		}
	}
}

// TestClassifierHeadGradients differentiates the mean cross-entropy of the
// head w.r.t. every head parameter and the feature map.
func TestClassifierHeadGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, c, hh, ww, k = 3, 3, 2, 3, 4
	h := clsHead(t, c, k, rng)
	if err := h.InitFromBatch(clsRand(rng, 8, c, hh, ww)); err != nil {
		t.Fatal(err)
	}
	if !h.Initialized() {
		t.Fatal("head not initialized after InitFromBatch")
	}
	// Move the normalization off its data-dependent values so its
	// gradient is not special.
	for _, nt := range h.Tensors() {
		for i, d := 0, nt.Value.Data().([]float64); i < len(d); i++ {
			d[i] += 0.2 * rng.NormFloat64()
		}
	}
	feat := clsRand(rng, n, c, hh, ww)
	b, _ := graph.NewBuilder(tensor.Float64)
	x, _ := b.Input("feat", feat)
	logits, err := h.Logits(b, x)
	if err != nil {
		t.Fatal(err)
	}
	ce, onehot, err := blocks.SoftmaxCrossEntropy(b, logits, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := blocks.OneHot(onehot, []int{2, 0, 3}); err != nil { // refilled after building
		t.Fatal(err)
	}
	loss, err := blocks.HybridLoss(b, nil, ce, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := b.Scalar("one", 1)
	names := []string{"feat"}
	vals := []*tensor.Dense{feat}
	wrt := G.Nodes{x}
	for _, p := range b.Params() {
		names = append(names, p.Name)
		vals = append(vals, p.Value)
		wrt = append(wrt, p.Node)
	}
	if len(wrt) != 5 {
		t.Fatalf("%d parameters, want 4", len(wrt)-1)
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	clsCheckGradients(t, b, loss, names, vals, grads, make([][]int, len(vals)))
}

// TestClassifierHybridLoss checks the value and weights of the hybrid loss.
func TestClassifierHybridLoss(t *testing.T) {
	ceV := []float64{0.5, 1.5, 2}
	lp := []float64{-100, -80, -120}
	const lambda, dim = 2.0, 50
	b, _ := graph.NewBuilder(tensor.Float64)
	cen, _ := b.Input("ce", clsTensor(append([]float64(nil), ceV...), 3))
	lpn, _ := b.Input("logp", clsTensor(append([]float64(nil), lp...), 3))
	loss, err := blocks.HybridLoss(b, lpn, cen, lambda, dim)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := b.Scalar("one", 1)
	g, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, G.Nodes{cen, lpn})
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := (0.5+1.5+2)/3 - lambda*(-100-80-120)/3/dim
	if got := loss.Value().Data().(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("hybrid loss = %.15g, want %.15g", got, want)
	}
	for i := 0; i < 3; i++ {
		if v := g[0].Value().Data().([]float64)[i]; math.Abs(v-1.0/3) > 1e-15 {
			t.Errorf("∂loss/∂ce[%d] = %v, want 1/3", i, v)
		}
		if v := g[1].Value().Data().([]float64)[i]; math.Abs(v+lambda/(3*dim)) > 1e-15 {
			t.Errorf("∂loss/∂logp[%d] = %v, want %v", i, v, -lambda/(3*dim))
		}
	}
	if _, err := blocks.HybridLoss(b, nil, cen, 1, dim); err == nil {
		t.Error("HybridLoss with lambda > 0 and no log p(x): no error")
	}
	if _, err := blocks.HybridLoss(b, lpn, cen, -1, dim); err == nil {
		t.Error("HybridLoss with lambda < 0: no error")
	}
}

func TestClassifierInvalidInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, cfg := range []blocks.HeadConfig{{Channels: 0, Classes: 3}, {Channels: 2, Classes: 1}, {Channels: 2, Classes: 3, Dtype: tensor.Int}} {
		if _, err := blocks.NewClassifierHead(cfg, rng); err == nil {
			t.Errorf("NewClassifierHead(%+v): no error", cfg)
		}
	}
	oh := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 3))
	if err := blocks.OneHot(oh, []int{0, 3}); err == nil {
		t.Error("OneHot with label 3 of 3 classes: no error")
	}
	if err := blocks.OneHot(oh, []int{0}); err == nil {
		t.Error("OneHot with 1 label for 2 rows: no error")
	}
	if err := blocks.OneHot(oh, []int{2, 1}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(oh.Data()); got != "[0 0 1 0 1 0]" {
		t.Errorf("OneHot = %s", got)
	}
	h := clsHead(t, 2, 3, rng)
	b, _ := graph.NewBuilder(tensor.Float64)
	x, _ := b.Input("x", clsRand(rng, 2, 3, 2, 2))
	if _, err := h.Logits(b, x); err == nil {
		t.Error("Logits on 3 channels for a 2-channel head: no error")
	}
}

// TestClassifierFloat32 runs the head and the loss in float32 on extreme
// logits: the training dtype must build, run and stay finite.
func TestClassifierFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	h, err := blocks.NewClassifierHead(blocks.HeadConfig{Channels: 2, Classes: 3}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if h.Config().Dtype != tensor.Float32 {
		t.Fatalf("default dtype %v, want float32", h.Config().Dtype)
	}
	w := clsTensorNamed(t, h, "head/fc/weight").Data().([]float32)
	for i := range w {
		w[i] *= 1e4 // logits in the thousands
	}
	feat := tensor.New(tensor.WithShape(4, 2, 3, 3), tensor.WithBacking(make([]float32, 72)))
	for i, d := 0, feat.Data().([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	if err := h.InitFromBatch(feat); err != nil {
		t.Fatal(err)
	}
	b, _ := graph.NewBuilder(tensor.Float32)
	x, _ := b.Input("feat", feat)
	logits, err := h.Logits(b, x)
	if err != nil {
		t.Fatal(err)
	}
	ce, _, err := blocks.SoftmaxCrossEntropy(b, logits, []int{0, 1, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := blocks.HybridLoss(b, nil, ce, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := b.Scalar("one", 1)
	var wrt G.Nodes
	for _, p := range b.Params() {
		wrt = append(wrt, p.Node)
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	lv := logits.Value().Data().([]float32)
	t.Logf("logits %v, loss %v", lv, loss.Value())
	if v := loss.Value().Data().(float32); math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		t.Errorf("loss = %v", v)
	}
	for i, g := range grads {
		for _, v := range g.Value().Data().([]float32) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("gradient of %s has %v", b.Params()[i].Name, v)
			}
		}
	}
	pred, err := blocks.Predictions(logits.Value().(*tensor.Dense))
	if err != nil || len(pred) != 4 {
		t.Fatalf("Predictions = %v, %v", pred, err)
	}
}

// TestPredictionsRefuseNonFinite: the arg-max of the rows, and an error
// naming row and class for a NaN or infinite logit, which would otherwise
// count as some class.
func TestPredictionsRefuseNonFinite(t *testing.T) {
	logits := tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float64{0, 2, 1, 5, -1, 4, -3, -2, -2.5}))
	got, err := blocks.Predictions(logits)
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 0 || got[2] != 1 {
		t.Errorf("Predictions = %v, %v; want [1 0 1]", got, err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		d := []float64{0, 2, 1, 5, -1, 4, -3, -2, -2.5}
		d[5] = bad
		_, err := blocks.Predictions(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking(d)))
		if err == nil || !strings.Contains(err.Error(), "logit of row 1, class 2 is") {
			t.Errorf("logit %v: error %v", bad, err)
		}
	}
}

// TestClassifierOnMultiScale puts the head on the last-scale feature map of
// a small multi-scale i-ResNet, trains nothing, and checks the gradient of
// the hybrid loss (cross-entropy plus the power-series density, with its
// probe fixed) w.r.t. conv weights of both scales against central
// differences.
func TestClassifierOnMultiScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := blocks.Lipschitz{Act: graph.ELU, Dtype: tensor.Float64}
	model, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 8, Width: 8, InitSqueeze: true,
		Scales: 2, Blocks: 1, Hidden: []int{4, 4}, Lipschitz: l}, rng)
	if err != nil {
		t.Fatal(err)
	}
	fs := model.FinalShape()
	if fs != [3]int{8, 2, 2} {
		t.Fatalf("final shape %v, want [8 2 2]", fs)
	}
	head := clsHead(t, fs[0], 3, rng)
	const n = 2
	x := clsRand(rng, n, 1, 8, 8)

	// Data-dependent init of the head from the numeric latents.
	z, err := blocks.Apply(model, clsRand(rng, 16, 1, 8, 8))
	if err != nil {
		t.Fatal(err)
	}
	feat0, err := blocks.FinalFeatureTensor(model, z)
	if err != nil {
		t.Fatal(err)
	}
	if err := head.InitFromBatch(feat0); err != nil {
		t.Fatal(err)
	}

	// One graph holds both the density (on the latent) and the classifier
	// (on the feature map cut from it).
	b, _ := graph.NewBuilder(tensor.Float64)
	xn, _ := b.Input("x", x)
	zl, logDet, err := model.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	lpz, err := blocks.GaussianLogProb(b, zl)
	if err != nil {
		t.Fatal(err)
	}
	logp := G.Must(G.Add(lpz, logDet))
	feat, err := blocks.FinalFeatureMap(model, zl)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := head.Logits(b, feat)
	if err != nil {
		t.Fatal(err)
	}
	ce, _, err := blocks.SoftmaxCrossEntropy(b, logits, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := blocks.HybridLoss(b, logp, ce, 1, model.Dim())
	if err != nil {
		t.Fatal(err)
	}
	b.Resample(rng) // the Hutchinson probe stays fixed from here on

	var names []string
	var vals []*tensor.Dense
	var wrt G.Nodes
	var idx [][]int
	for _, p := range b.Params() {
		switch {
		case p.Name == "scale0/block0/conv0/weight": // every entry
			idx = append(idx, nil)
		case p.Name == "scale1/block0/conv2/weight", p.Name == "head/fc/weight":
			idx = append(idx, []int{0, 5, 17})
		default:
			continue
		}
		names = append(names, p.Name)
		vals = append(vals, p.Value)
		wrt = append(wrt, p.Node)
	}
	if len(wrt) != 3 {
		var all []string
		for _, p := range b.Params() {
			all = append(all, p.Name)
		}
		t.Fatalf("found %v among parameters %s", names, strings.Join(all, ", "))
	}
	one, _ := b.Scalar("one", 1)
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	clsCheckGradients(t, b, loss, names, vals, grads, idx)

	// The feature map cut from the latent node equals the one cut from the
	// numeric latent. (Intermediate values of the graph above may have been
	// overwritten in place by the machine, so this uses a graph of its own.)
	fb, _ := graph.NewBuilder(tensor.Float64)
	fx, _ := fb.Input("x", x)
	fz, _, err := model.Forward(fb, fx)
	if err != nil {
		t.Fatal(err)
	}
	fmap, err := blocks.FinalFeatureMap(model, fz)
	if err != nil {
		t.Fatal(err)
	}
	if !fmap.Shape().Eq(tensor.Shape{n, 8, 2, 2}) {
		t.Fatalf("feature map shape %v", fmap.Shape())
	}
	fm := G.NewTapeMachine(fb.Graph())
	defer fm.Close()
	if err := fm.RunAll(); err != nil {
		t.Fatal(err)
	}
	zt, err := blocks.Apply(model, x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := blocks.FinalFeatureTensor(model, zt)
	if err != nil {
		t.Fatal(err)
	}
	got := fmap.Value().Data().([]float64)
	for i, v := range want.Data().([]float64) {
		if math.Abs(got[i]-v) > 1e-12 {
			t.Fatalf("feature map[%d] = %v, want %v", i, got[i], v)
		}
	}
	zd, d := zt.Data().([]float64), model.Dim()
	for r := 0; r < n; r++ {
		for i := 0; i < 32; i++ {
			if got[r*32+i] != want.Data().([]float64)[r*32+i] || want.Data().([]float64)[r*32+i] != zd[r*d+d-32+i] {
				t.Fatalf("feature map of sample %d is not the tail of its latent", r)
			}
		}
	}
}

// ExampleClassifierHead builds a classifier head on a feature map and
// the cross-entropy of its logits; the label input is refilled with OneHot
// and the graph run again without being rebuilt.
func ExampleClassifierHead() {
	rng := rand.New(rand.NewPCG(1, 1))
	head, err := blocks.NewClassifierHead(blocks.HeadConfig{Channels: 2, Classes: 3, Dtype: tensor.Float64}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Zero weights and biases: every class gets logit 0, so ce = log 3.
	for _, nt := range head.Tensors() {
		clear(nt.Value.Data().([]float64))
	}
	b, _ := graph.NewBuilder(tensor.Float64)
	feat := tensor.New(tensor.WithShape(2, 2, 2, 2), tensor.WithBacking(make([]float64, 16)))
	x, _ := b.Input("feat", feat)
	logits, _ := head.Logits(b, x)
	ce, labels, err := blocks.SoftmaxCrossEntropy(b, logits, []int{0, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logits:", logits.Shape())
	fmt.Printf("ce: %.4f (log 3 = %.4f)\n", ce.Value().Data(), math.Log(3))

	// Class 1 now scores 2 for every sample: logits (0, 2, 0).
	for _, nt := range head.Tensors() {
		if nt.Name == "head/fc/bias" {
			nt.Value.Data().([]float64)[1] = 2
		}
	}
	if err := blocks.OneHot(labels, []int{1, 0}); err != nil {
		fmt.Println(err)
		return
	}
	m.Reset()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ce: %.4f\n", ce.Value().Data())
	// Output:
	// logits: (2, 3)
	// ce: [1.0986 1.0986] (log 3 = 1.0986)
	// ce: [0.2395 2.2395]
}
