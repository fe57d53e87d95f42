package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestCompare runs the synthetic cases at c = 0.9 on small batches and
// checks the report: both methods invert every case to the true preimage
// within the error bound of the tolerance, and Anderson needs at most half
// the evaluations of plain iteration on the affine and symmetric blocks.
func TestCompare(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-coeffs", "0.9", "-points", "16", "-images", "2", "-reps", "1", "-blas=false"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "| case |") {
		t.Errorf("no Markdown table in\n%s", out)
	}
	var rep struct {
		Rows []Row `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4 (linear, dense, symmetric, conv)", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		// Tol·(1 + max|x|)·L/(1 − L) with max|x| < 6 and L ≤ 0.9.
		bound := 1e-5 * 7 * 0.9 / 0.1
		for _, res := range []Result{r.Plain, r.Anderson} {
			if res.Error != "" || res.Iter < 1 || !(res.MaxError <= bound) || !(res.WallMS > 0) {
				t.Errorf("%s: %+v; want a finished inverse within %.2g of x*", r.Case, res, bound)
			}
		}
		if (strings.HasPrefix(r.Case, "dense d=2 linear") || strings.HasPrefix(r.Case, "dense 16-16-16 symmetric")) && 2*r.Anderson.Iter > r.Plain.Iter {
			t.Errorf("%s: Anderson %d evaluations, plain %d; want at most half", r.Case, r.Anderson.Iter, r.Plain.Iter)
		}
	}
}

// TestRejectsBadFlags checks that invalid settings are errors.
func TestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-coeffs", "x"}, {"-reps", "0"}, {"-tol", "0"}, {"-models", "nocheckpoint"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		if err := run(append([]string{"-synthetic=false"}, args...), &stdout, &stderr); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
