package trainer

import (
	"math"
	"testing"
)

// TestEvalBatchSizedToMemory lowers the evaluation graph's memory budget
// below what the configured batch needs: the graph is rebuilt at a smaller
// batch that fits, and the evaluation, in more batches, gives the same log
// p at every point (the toy's log-det is exact, so nothing is random) and
// the same held-out NLL.
func TestEvalBatchSizedToMemory(t *testing.T) {
	cfg := tinyConfig(3)
	full := newTrainer(t, cfg)
	steps(t, full, 3)
	if got := full.eval.x.Shape()[0]; got != cfg.EvalBatch {
		t.Fatalf("within the budget: evaluation batch %d, want the configured %d", got, cfg.EvalBatch)
	}

	budget := full.eval.bytes / 5
	small, err := New(cfg, WithEvalMemory(budget))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	steps(t, small, 3)
	bs := small.eval.x.Shape()[0]
	if bs >= cfg.EvalBatch/4 || bs < 1 {
		t.Fatalf("a fifth of the memory: evaluation batch %d of %d", bs, cfg.EvalBatch)
	}
	if small.eval.bytes > budget {
		t.Errorf("the rebuilt graph holds %d bytes, over the budget %d", small.eval.bytes, budget)
	}

	pts := make([]float64, 2*301) // not a whole number of either batch
	for i := range pts {
		pts[i] = 3 * math.Sin(float64(i))
	}
	a, err := full.LogProb(pts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := small.LogProb(pts)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 301 || len(b) != 301 {
		t.Fatalf("%d and %d values for 301 points", len(a), len(b))
	}
	for i := range a {
		if d := math.Abs(a[i] - b[i]); d > 1e-5*(1+math.Abs(a[i])) {
			t.Fatalf("point %d: log p %v at batch %d, %v at batch %d", i, a[i], cfg.EvalBatch, b[i], bs)
		}
	}
	ea, err := full.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	eb, err := small.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(ea.NLL - eb.NLL); d > 1e-5*(1+math.Abs(ea.NLL)) {
		t.Fatalf("held-out NLL %v at batch %d, %v at batch %d", ea.NLL, cfg.EvalBatch, eb.NLL, bs)
	}
}
