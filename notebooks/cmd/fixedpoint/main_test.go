package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestBanachBound runs two coefficients on a small batch and checks what
// the notebook shows: the error stays below the Banach bound, the observed
// contraction per iteration is at most L = c, a larger c needs more
// iterations, and the library's inverse lands on the true preimage, with
// Anderson acceleration in no more iterations than plain iteration.
func TestBanachBound(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-coeffs", "0.5,0.9", "-points", "16", "-max-iter", "1000"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if d := r.Lipschitz - r.Coeff; d > 1e-6 || d < -1e-6 {
			t.Errorf("c = %g: L = %g, want c for a normalized linear layer", r.Coeff, r.Lipschitz)
		}
		if r.BoundRatio > 1+1e-9 {
			t.Errorf("c = %g: error exceeds the Banach bound by a factor %g", r.Coeff, r.BoundRatio)
		}
		if r.Rate <= 0 || r.Rate > r.Lipschitz+1e-9 {
			t.Errorf("c = %g: observed contraction %g per iteration, want in (0, L = %g]", r.Coeff, r.Rate, r.Lipschitz)
		}
		n := len(r.Step)
		if n < 3 || r.Step[n-1] > rep.Settings.Floor || r.Step[n-1] >= r.Step[0]*1e-10 {
			t.Errorf("c = %g: steps %g … %g over %d iterations, want a fall below the floor %g", r.Coeff, r.Step[0], r.Step[n-1], n, rep.Settings.Floor)
		}
		if r.Library.Error != "" || r.Library.MaxError > 1e-9 {
			t.Errorf("c = %g: library inverse error %q, max |x − x*| %g", r.Coeff, r.Library.Error, r.Library.MaxError)
		}
		if r.Anderson.Error != "" || r.Anderson.MaxError > 1e-9 || r.Anderson.Iter > r.Library.Iter {
			t.Errorf("c = %g: Anderson inverse error %q, max |x − x*| %g, %d iterations (plain %d)", r.Coeff, r.Anderson.Error, r.Anderson.MaxError, r.Anderson.Iter, r.Library.Iter)
		}
	}
	if a, b := rep.Runs[0], rep.Runs[1]; !(len(b.Step) > len(a.Step) && b.Library.Iter > a.Library.Iter) {
		t.Errorf("c = 0.9 took %d iterations (library %d), c = 0.5 %d (library %d); want more for the larger c",
			len(b.Step), b.Library.Iter, len(a.Step), a.Library.Iter)
	}
}

// TestRejectsBadFlags checks that invalid settings are errors.
func TestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-coeffs", "1.5"}, {"-coeffs", "a"}, {"-dim", "0"}, {"-hidden", "0"}} {
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
