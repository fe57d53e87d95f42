package ode

import (
	"math"

	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// WithSteps returns a CNF that shares c's parameters (the same tensors, so
// training one trains both) but integrates with the given number of RK4
// steps, e.g. more for evaluation than for training, or the count
// [CNF.ChooseSteps] picks. Its inverse inverts its own discrete map.
func (c *CNF) WithSteps(steps int) (*CNF, error) {
	cfg := c.Config()
	cfg.Steps = steps
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &CNF{cfg: cfg, ws: c.ws, bts: c.bts, fns: map[string]*dynFunc{}}, nil
}

// ChooseSteps picks an RK4 step count by error control, in the spirit of an
// adaptive solver but fixed before a graph is built (graphs are static):
// starting from the configured Steps it doubles s until the Richardson
// estimate of the error of z(T) at the batch x with s steps,
//
//	err(s) ≈ max |z_s(T) − z_2s(T)| · 2⁴/(2⁴ − 1),
//
// is at most tol, and returns s with that estimate. RK4's error falls as
// h⁴, so the estimate is asymptotically the error of z_s(T) itself
// (TestChooseSteps compares it with a fine-step reference). It returns an
// error when 2s would exceed maxSteps (≤ MaxSteps) first.
func (c *CNF) ChooseSteps(x *tensor.Dense, tol float64, maxSteps int) (steps int, estimate float64, err error) {
	if !(tol > 0) {
		return 0, 0, errors.Errorf("ode: step tolerance %v must be > 0", tol)
	}
	if maxSteps < 1 || maxSteps > MaxSteps {
		return 0, 0, errors.Errorf("ode: maxSteps %d must lie in [1, %d]", maxSteps, MaxSteps)
	}
	t := c.cfg.EndTime
	s := c.cfg.Steps
	coarse, err := c.Integrate(x, 0, t, s)
	if err != nil {
		return 0, 0, err
	}
	for 2*s <= maxSteps {
		fine, err := c.Integrate(x, 0, t, 2*s)
		if err != nil {
			return 0, 0, err
		}
		cd, fd := dense.Float64s(coarse), dense.Float64s(fine)
		est := 0.0
		for i := range cd {
			est = math.Max(est, math.Abs(cd[i]-fd[i]))
		}
		est *= 16.0 / 15
		if est <= tol {
			return s, est, nil
		}
		s, coarse = 2*s, fine
	}
	return 0, 0, errors.Errorf("ode: no step count up to %d reaches the error tolerance %g", maxSteps, tol)
}
