// Package blocks holds the invertible pieces of an i-ResNet and the
// sequences built from them.
//
// # Bijectors
//
// A [Bijector] builds its forward map y = f(x) and log|det ∂f/∂x| as nodes of
// a graph (graph.Builder), and computes its inverse x = f⁻¹(y) numerically.
// [Chain] composes bijectors in slice order and sums their log-dets.
//
// # Residual blocks
//
// A [Residual] block is F(x) = x + g(x) (Behrmann et al. 2019, ICML, §2),
// where g is a stack of spectrally normalized layers and 1-Lipschitz
// activations, so Lip(g) ≤ ∏ ‖W̃ᵢ‖₂ ≤ cᵏ < 1. Its inverse is the Banach
// fixed-point iteration x₀ = y, x_{i+1} = y − g(x_i) (Algorithm 1), whose
// error shrinks by a factor Lip(g) per step, by default accelerated by a
// safeguarded Anderson mixing of the last iterates ([InverseMethod],
// [AndersonConfig]). [NewDense] builds g from dense layers, [NewConv] from
// the paper's 3×3 → 1×1 → 3×3 convolutional bottleneck. The log-det comes from an estimator.Estimator.
//
// Lip(g) < 1 is required for invertibility; spectral normalization enforces
// it only as well as its power iteration has converged, and the fixed-point
// inverse reports a [NotConvergedError] rather than returning a wrong answer.
//
// # Other pieces
//
// [ActNorm] is a per-channel affine map with data-dependent initialization
// (Kingma & Dhariwal 2018), [Squeeze] the 2×2 space-to-depth permutation,
// and [SplitChannels]/[MergeChannels] the factor-out of a multi-scale model.
// [MultiScale] is the paper's multi-scale convolutional i-ResNet for images;
// [ClassifierHead], [SoftmaxCrossEntropy] and [HybridLoss] turn it into a
// classifier or a hybrid model. [Flow] adds the Gaussian base density.
package blocks
