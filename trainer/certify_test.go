package trainer

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/iresnet/iresnet/trainer/checkpoint"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// TestEMAIsTheBiasCorrectedAverage records the parameters after every step
// and checks the average against Σₛ (1−d)·d^(t−s)·θₛ / (1 − dᵗ), written
// out here: weights that sum to one over the steps taken, none on the
// initialization, and the latest step weighted most.
func TestEMAIsTheBiasCorrectedAverage(t *testing.T) {
	for _, d := range []float64{0.5, 0.9, 0.999} {
		cfg := tinyConfig(11)
		cfg.Optim.EMADecay = d
		tr := newTrainer(t, cfg)
		var history [][][]float64 // step → parameter → values
		for s := 0; s < 6; s++ {
			steps(t, tr, 1)
			var snap [][]float64
			for _, p := range tr.params {
				pd := p.Value.Data().([]float32)
				v := make([]float64, len(pd))
				for j, x := range pd {
					v[j] = float64(x)
				}
				snap = append(snap, v)
			}
			history = append(history, snap)
		}
		n := len(history)
		norm := 1 - math.Pow(d, float64(n))
		for i, p := range tr.params {
			got := tr.ema[i].Data().([]float32)
			for j := range got {
				want := 0.0
				for s := 1; s <= n; s++ {
					want += (1 - d) * math.Pow(d, float64(n-s)) * history[s-1][i][j] / norm
				}
				if diff := math.Abs(float64(got[j]) - want); diff > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("d = %g: %s[%d] average %.7g, want %.7g", d, p.Name, j, got[j], want)
				}
			}
		}
	}
}

// denseNorm is the largest singular value of a dense weight (in, out),
// computed here with gonum's SVD, independently of package normalize.
func denseNorm(t *testing.T, w *tensor.Dense) float64 {
	t.Helper()
	s := w.Shape()
	d := w.Data().([]float32)
	m := mat.NewDense(s[0], s[1], nil)
	for i := 0; i < s[0]; i++ {
		for j := 0; j < s[1]; j++ {
			m.Set(i, j, float64(d[i*s[1]+j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	return svd.Values(nil)[0]
}

// TestEvaluationWeightsAreCertified trains a toy model whose raw weights
// run ahead of the one-step power iteration (a large learning rate), then
// checks, with an SVD of each applied weight, that evaluation and the
// saved applied/ weights stay within c, while the training weights are
// left as they were.
func TestEvaluationWeightsAreCertified(t *testing.T) {
	cfg := tinyConfig(12)
	cfg.Optim.LR = 0.05
	cfg.Optim.EMADecay = 0.9
	tr := newTrainer(t, cfg)
	steps(t, tr, 8)
	before := state(tr)
	const c = 0.9
	var seen, raw int
	var maxRaw float64
	sn := map[*tensor.Dense]bool{}
	for _, r := range tr.model.Residuals() {
		for _, l := range r.SpectralLayers() {
			sn[l.Weight] = true
			s := denseNorm(t, l.Weight)
			maxRaw = math.Max(maxRaw, s)
			if s > c*(1+1e-6) {
				raw++
			}
		}
	}
	err := tr.withEvalWeights(func() error {
		for _, p := range tr.params {
			if !sn[p.Value] {
				continue
			}
			seen++
			if s := denseNorm(t, p.Value); s > c*(1+1e-6) {
				t.Errorf("evaluation weight %s has norm %.8g > c = %g", p.Name, s, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("no spectrally normalized weights found")
	}
	t.Logf("%d of %d raw weights above c (largest %.4f) before certification", raw, seen, maxRaw)
	sameState(t, before, state(tr))
	cert, err := tr.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if l := cert.MaxLipschitz(); !(l <= math.Pow(c, 2)*(1+1e-6)) {
		t.Errorf("largest block Lipschitz bound %.6g > c² (two layers of at most c)", l)
	}

	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, w := range f.Tensors {
		if len(name) > len(prefixApplied) && name[:len(prefixApplied)] == prefixApplied {
			n++
			if s := denseNorm(t, w); s > c*(1+1e-6) {
				t.Errorf("saved %s has norm %.8g > c", name, s)
			}
		}
	}
	if n != seen {
		t.Errorf("checkpoint holds %d applied weights, want %d", n, seen)
	}
}

// TestCertificationOncePerStep: evaluations, samples and saves of one step
// share one certification; a step, or an edit of the weights, makes a new
// one.
func TestCertificationOncePerStep(t *testing.T) {
	tr := newTrainer(t, tinyConfig(13))
	steps(t, tr, 2)
	first, err := tr.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Evaluate(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Sample(10, 1); err != nil {
		t.Fatal(err)
	}
	again, _ := tr.Certificates()
	if &again.Blocks[0] != &first.Blocks[0] {
		t.Error("the same step was certified twice")
	}
	steps(t, tr, 1)
	next, _ := tr.Certificates()
	if &next.Blocks[0] == &first.Blocks[0] {
		t.Error("a new step reused the previous step's certificate")
	}
	sn := tr.spectralParams()[0] // edit a spectrally normalized evaluation weight
	var w []float32
	for i, p := range tr.params {
		if p == sn {
			w = tr.ema[i].Data().([]float32)
		}
	}
	for i := range w {
		w[i] *= 2
	}
	edited, _ := tr.Certificates()
	if &edited.Blocks[0] == &next.Blocks[0] {
		t.Error("edited weights reused the certificate of the old ones")
	}
}
