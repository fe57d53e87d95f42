package trainer

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/internal/imagetest"
	"gorgonia.org/tensor"
)

// TestOpenMatchesTheTrainer: a model opened for inference gives the
// trainer's own log p, inverts its forward map, and needs no data (the
// image model's folder is removed before opening).
func TestOpenMatchesTheTrainer(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(3))
	steps(t, tr, 4)
	path := filepath.Join(dir, CheckpointFile)
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	x := []float64{0.5, -1, 2, 0.25, -1.5, 1}
	want, err := tr.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("log p[%d] = %v, the trainer's %v", i, got[i], want[i])
		}
	}
	z, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := m.Inverse(z)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(back[i]-x[i]) > 1e-4 {
			t.Errorf("F⁻¹(F(x))[%d] = %v, want %v", i, back[i], x[i])
		}
	}
	if _, err := m.Classify(x); err == nil {
		t.Error("a density model classified")
	}
	if _, err := m.LogProb(x[:3]); err == nil {
		t.Error("LogProb took 3 values of 2-D points")
	}
	if _, err := m.t.Step(); err == nil {
		t.Error("a model opened for inference trained a step")
	}
}

func TestOpenImageModelWithoutData(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	cfg := imageConfig(data)
	cfg.Objective.Task = Hybrid
	tr := newTrainer(t, cfg)
	steps(t, tr, 2)
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	x := tr.src.HeldOut().Points[:3*64]
	wantP, err := tr.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wantP {
		if got[i] != wantP[i] {
			t.Errorf("log p[%d] = %v, the trainer's %v", i, got[i], wantP[i])
		}
	}
	preds, err := m.Classify(x)
	if err != nil || len(preds) != 3 {
		t.Fatalf("Classify = %v, %v", preds, err)
	}
	if m.t.src != nil {
		t.Error("Open opened the data source")
	}
}

// TestBlockNamesAreCheckpointScopes: the names cmd/eval reports are the
// scopes of the checkpoint's tensors, residual blocks counted on their own.
func TestBlockNamesAreCheckpointScopes(t *testing.T) {
	tr := newTrainer(t, imageConfig(imagetest.TinyMNIST(t)))
	got := strings.Join(tr.BlockNames(), ",")
	if want := "scale0/block0,scale1/block0"; got != want {
		t.Errorf("BlockNames = %s, want %s", got, want)
	}
	for _, name := range tr.BlockNames() {
		if _, ok := tensorNamed(tr, name+"/conv0/weight"); !ok {
			t.Errorf("no tensor %s/conv0/weight", name)
		}
	}
}

func tensorNamed(tr *Trainer, name string) (*tensor.Dense, bool) {
	for _, nt := range tr.tensors() {
		if nt.Name == name {
			return nt.Value, true
		}
	}
	return nil, false
}

// TestFamilyOnImagesFlattens: MAF and FFJORD take images through Flatten,
// whose shape must hold exactly their dimension; other families refuse it.
func TestFamilyOnImagesFlattens(t *testing.T) {
	cfg := SmallMNISTDensity("")
	c, err := cfg.WithFamily("maf", []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithDefaults(); err != nil {
		t.Errorf("maf on 1×28×28: %v", err)
	}
	if got := c.Model.InputShape(); len(got) != 3 || got[2] != 28 {
		t.Errorf("input shape %v, want the image's", got)
	}
	bad := c
	bad.Model.Flatten = []int{1, 28, 27}
	if _, err := bad.WithDefaults(); err == nil || !strings.Contains(err.Error(), "flatten") {
		t.Errorf("flatten 1×28×27 onto 784-D: %v", err)
	}
	nice, err := cfg.WithFamily("nice", []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	nice.Model.Flatten = []int{1, 28, 28}
	if _, err := nice.WithDefaults(); err == nil || !strings.Contains(err.Error(), "flatten") {
		t.Errorf("flatten on NICE: %v", err)
	}
}

// TestHeldOutPrefix: a held-out set of another size, read from the
// dataset by an opened checkpoint, has the same first images (with their
// dequantization noise and labels) as the trainer's, and so do the toy
// held-out points; Evaluate on it matches the trainer's evaluation where
// the sets agree.
func TestHeldOutPrefix(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"images", imageConfig(imagetest.TinyMNIST(t))}, // eval size 32
		{"toy", tinyConfig(4)},                          // eval size 300
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTrainer(t, c.cfg)
			steps(t, tr, 1)
			dir := t.TempDir()
			if err := tr.Save(filepath.Join(dir, CheckpointFile)); err != nil {
				t.Fatal(err)
			}
			m, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d := c.cfg.dim()
			full := tr.src.HeldOut()
			for _, n := range []int{5, len(full.Points) / d} {
				small, err := m.HeldOut(n)
				if err != nil {
					t.Fatal(err)
				}
				if len(small.Points) != n*d {
					t.Fatalf("held-out set of %d values, want %d points of %d", len(small.Points), n, d)
				}
				for i := range small.Points {
					if small.Points[i] != full.Points[i] {
						t.Fatalf("n=%d: value %d is %v, %v in the trainer's held-out set", n, i, small.Points[i], full.Points[i])
					}
				}
				for i := range small.Labels {
					if small.Labels[i] != full.Labels[i] {
						t.Fatalf("n=%d: label %d differs", n, i)
					}
				}
			}
			all, err := m.HeldOut(0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Evaluate(all)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tr.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			if got.NLL != want.NLL || got.BPD != want.BPD {
				t.Errorf("opened model: NLL %v, bits/dim %v; trainer %v, %v", got.NLL, got.BPD, want.NLL, want.BPD)
			}
			if _, err := m.HeldOut(-1); err == nil {
				t.Error("held-out size −1 accepted")
			}
		})
	}
}

// TestForwardReusesItsGraphWithNewWeights: Forward compiles its graph once
// per batch size and re-runs it, reading the weights in place, so after a
// training step it computes the new model's latent (that of a freshly
// saved and opened checkpoint), not the old one's.
func TestForwardReusesItsGraphWithNewWeights(t *testing.T) {
	tr := newTrainer(t, tinyConfig(6))
	m := tr.Trained()
	x := []float64{0.5, -1, 2, 0.25}
	before, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	f := tr.forward[2]
	steps(t, tr, 3)
	after, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if tr.forward[2] != f {
		t.Error("the forward graph of batch 2 was rebuilt")
	}
	dir := t.TempDir()
	if err := tr.Save(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	fresh, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want, err := fresh.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range want {
		if after[i] != want[i] {
			t.Errorf("z[%d] = %v after 3 steps, a fresh model gives %v", i, after[i], want[i])
		}
		same = same && before[i] == after[i]
	}
	if same {
		t.Error("3 training steps did not change F(x)")
	}
	for n := 1; n <= maxForwardFuncs+2; n++ { // more sizes than are kept
		if _, err := m.Forward(make([]float64, 2*n)); err != nil {
			t.Fatal(err)
		}
	}
	if len(tr.forward) > maxForwardFuncs {
		t.Errorf("%d forward graphs kept, want at most %d", len(tr.forward), maxForwardFuncs)
	}
}
