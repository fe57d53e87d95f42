// Package estimator estimates log|det(I + J_g(x))| for a residual block
// F(x) = x + g(x), one value per sample, as nodes of the block's graph.
//
// # Method
//
// For ‖J_g‖₂ < 1 (Behrmann et al. 2019, ICML, §3, eq. 6)
//
//	log det(I + J) = tr log(I + J) = Σ_{k≥1} (−1)^{k+1} tr(Jᵏ)/k.
//
// [PowerSeries] truncates the series after n terms and estimates each trace
// with Hutchinson's estimator tr(A) = E[vᵀAv] for v Gaussian or Rademacher.
// vᵀJᵏ is computed without forming J, as k vector-Jacobian products over the
// graph of g (graph.VJP), so the estimate is itself a differentiable node:
// its gradient with respect to the weights is second-order reverse mode.
// [WeakBound] bounds the truncation error.
//
// [RussianRoulette] (Chen et al. 2019, "Residual Flows", §3.1) draws the
// number of terms at random and reweights term k by 1/P(N ≥ k), which makes
// the estimate unbiased for the series it can reach.
//
// [Exact] assembles J row by row from d vector-Jacobian products and takes
// log|det(I + J)| by LU decomposition: the reference for small dimensions,
// for tests, and for evaluating low-dimensional models.
package estimator
