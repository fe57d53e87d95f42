// Package ode holds FFJORD, the continuous normalizing flow of Grathwohl,
// Chen, Bettencourt, Sutskever & Duvenaud (2019, ICLR), as a bijector with
// the contract of the i-ResNet blocks (blocks.Bijector).
//
// # Model
//
// A [CNF] maps x to y = z(T), the solution of dz/dt = f(z, t), z(0) = x,
// for an MLP f that takes t as an extra input in every layer. By the
// instantaneous change of variables (Chen et al. 2018; Grathwohl et al.
// 2019, §2.2, eq. 4) log|det ∂y/∂x| = ∫₀ᵀ tr(∂f/∂z(t)) dt, so
// log p(x) = log p(y) + ∫₀ᵀ tr(∂f/∂z) dt.
//
// # Trace
//
// FFJORD's point (§3, eq. 7) is the unbiased Hutchinson estimate
// tr(∂f/∂z) = E[vᵀ(∂f/∂z)v], one vector-Jacobian product per probe v; the
// probe is drawn once per integration. Here the VJP is graph.VJP, which is
// differentiable again, so training differentiates through it. The probes
// are noise inputs of the graph.Builder ("probe0", …): call Resample on the
// builder before every run. [ExactTrace] sums over the D basis vectors
// instead, for low dimensions and tests. [CNF.ForwardWith] with
// estimator.Exact builds the exact trace for one graph (an evaluation
// graph, say) whatever the configured mode.
//
// # Solver
//
// The ODE is integrated by a classical fixed-step fourth-order Runge–Kutta
// method unrolled in the graph (FFJORD uses the adaptive dopri5 with the
// adjoint method, §4; neither is implemented here), applied to the
// augmented state (z, ℓ) with ℓ′ = tr(∂f/∂z). Gradients come from
// reverse-mode through the unrolled steps (discretize-then-optimize), not
// from the adjoint ODE, so memory grows with Steps.
//
// The graph needs a fixed step count, so error control happens outside it:
// [CNF.ChooseSteps] doubles the count until a Richardson estimate of the
// error of z(T) on a batch meets a tolerance (the estimate matched the
// true error to 1% in TestChooseSteps), and [CNF.WithSteps] gives a CNF
// with the same parameters and another count, e.g. for evaluation.
//
// Measured discretization error (TestRK4Error: D = 2, hidden [16, 16],
// softplus, T = 1, float64, initial weights ×3 so that the dynamics are
// far from the identity, |log-det| ≈ 2.25; reference CNF.Integrate with
// 1000 steps, its log-det from finite differences): 10 steps are off by
// 1.0e-3 in z(T) and 7.5e-5 in the log-det, 20 steps by 7.1e-5 and
// 5.4e-6, a factor 14 per halving of h (fourth order: 16). The RK4
// quadrature of the trace and log|det| of the discrete map itself differ
// by 1.1e-4 at 10 steps.
//
// Inverse undoes Forward's discrete map: each step is inverted by a
// backward RK4 step refined by a fixed-point iteration to InverseTol.
package ode
