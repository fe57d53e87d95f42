// Package autoregressive holds masked autoregressive density models on
// vectors (N, D): MADE (Germain, Gregor, Murray & Larochelle 2015, ICML) and
// MAF (Papamakarios, Pavlakou & Murray 2017, NeurIPS), as bijectors with the
// contract of the i-ResNet blocks (blocks.Bijector).
//
// # MADE
//
// A [MADE] is a multilayer perceptron whose weight matrices are multiplied
// elementwise by constant binary masks built from degrees (Germain et al.
// 2015, §4): input i in the chosen order has degree i+1, each hidden unit a
// degree in [min degree of the layer below, D−1], and a connection from a
// unit of degree m to a hidden unit of degree m′ exists when m′ ≥ m; an
// output of degree d sees hidden units of degree < d only. Output i is then
// a function of the inputs before it in the order. With Gaussian
// conditionals x_i = u_i·exp(α_i) + μ_i, MADE is the affine autoregressive
// bijector (Papamakarios et al. 2017, §3.1, eq. 3–5)
//
//	u_i = (x_i − μ_i(x_<i)) · exp(−α_i(x_<i)),   log|det ∂u/∂x| = −Σ_i α_i,
//
// whose Jacobian is triangular in the order. Forward is one pass of the
// network; Inverse is the sequential D-step pass x_i = u_i·exp(α_i) + μ_i,
// computed numerically and incrementally (see [MADE.Inverse]). As a density
// model on its own, MADE is blocks.Flow{F: made} (a standard Gaussian base),
// or equivalently NewMAF with Layers: 1 and no ActNorm.
//
// # MAF
//
// [NewMAF] stacks MADE layers with the order reversed between consecutive
// layers (Papamakarios et al. 2017, §3). The paper puts batch normalization
// between layers (§3.1, "batch normalization"); here the optional
// normalization is blocks.ActNorm, the affine per-dimension map with a
// data-dependent initialization from the first batch (Kingma & Dhariwal
// 2018, §3.1), which is a bijector of its own with an exact inverse and no
// dependence on the batch at evaluation time. The model is a blocks.Chain,
// so its DataInitializer and Tensorer come with it.
package autoregressive
