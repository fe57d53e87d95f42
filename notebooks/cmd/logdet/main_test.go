package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// runReport runs the program with args and decodes its report.
func runReport(t *testing.T, args ...string) Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(args, &stdout, &stderr); err != nil {
		t.Fatalf("run %v: %v\n%s", args, err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	return rep
}

// TestExactMatchesHandComputedDeterminant checks the exact log-det of the
// linear block against log det(I + W̃) computed here from the block's
// weight W and its σ̂: W̃ = W / max(1, σ̂/c), and J_g = W̃ᵀ for g(x) = x·W̃ + b.
func TestExactMatchesHandComputedDeterminant(t *testing.T) {
	rep := runReport(t, "-draws", "100", "-max-terms", "2", "-probes", "1", "-seed", "3")
	r, err := newBlock(rep.Settings, rand.New(rand.NewPCG(3, 0)))
	if err != nil {
		t.Fatal(err)
	}
	var w []float64
	for _, nt := range r.Tensors() {
		if nt.Name == "fc0/weight" {
			w = nt.Value.Data().([]float64)
		}
	}
	if len(w) != 4 {
		t.Fatalf("fc0/weight has %d elements, want a 2×2 matrix", len(w))
	}
	c := rep.Settings.Coeff
	scale := 1 / math.Max(1, r.Sigmas()[0]/c)
	a, b, cc, d := 1+w[0]*scale, w[1]*scale, w[2]*scale, 1+w[3]*scale
	want := math.Log(math.Abs(a*d - b*cc))
	if got := rep.Exact[0]; math.Abs(got-want) > 1e-9 {
		t.Errorf("exact log-det %.12f, hand-computed %.12f", got, want)
	}
	if math.Abs(rep.Lipschitz-c) > 1e-6 {
		t.Errorf("Lipschitz bound %g, want c = %g for a normalized linear layer", rep.Lipschitz, c)
	}
}

// TestEstimators checks the three comparisons on a small setting: the
// series with exact traces converges to the exact log-det within the weak
// bound, 16 probes shrink the spread about 4-fold, and the Russian-roulette
// mean is within 4 standard errors of the exact value.
func TestEstimators(t *testing.T) {
	rep := runReport(t, "-draws", "4000", "-max-terms", "12", "-probes", "1,16", "-seed", "2")
	exact := rep.Exact[0]
	for _, row := range rep.Terms {
		if e := math.Abs(row.Series[0] - exact); e > row.Bound {
			t.Errorf("%d terms: truncation error %.3g above the weak bound %.3g", row.Terms, e, row.Bound)
		}
	}
	if e := math.Abs(rep.Terms[len(rep.Terms)-1].Series[0] - exact); e > 1e-3 {
		t.Errorf("12-term series misses the exact log-det by %.3g", e)
	}
	if first, last := math.Abs(rep.Terms[0].Series[0]-exact), math.Abs(rep.Terms[len(rep.Terms)-1].Series[0]-exact); !(last < first/10) {
		t.Errorf("truncation error went from %.3g (1 term) to %.3g (12 terms), want a tenfold drop", first, last)
	}
	if ratio := rep.Probes[0].Std[0] / rep.Probes[1].Std[0]; ratio < 3.2 || ratio > 4.8 {
		t.Errorf("spread with 1 probe / with 16 probes = %.2f, want about √16 = 4", ratio)
	}
	if z := rep.Roulette.Z[0]; math.Abs(z) > 4 {
		t.Errorf("roulette mean %.4f ± %.4f is %.1f standard errors from the exact %.4f", rep.Roulette.Mean[0], rep.Roulette.SE[0], z, exact)
	}
	if math.Abs(rep.Roulette.MeanTerms-2) > 1e-3 {
		t.Errorf("E[N] = %g, want 2 for a geometric law with p = ½ after one term", rep.Roulette.MeanTerms)
	}
}

// TestRejectsBadFlags checks that invalid settings are errors.
func TestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-coeff", "1"}, {"-draws", "1"}, {"-probes", "0"}, {"-hidden", "x"}} {
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
