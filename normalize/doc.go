// Package normalize implements spectral normalization, the constraint that
// keeps each residual branch of an i-ResNet contractive.
//
// # Method
//
// A weight W is replaced in the graph by
//
//	W̃ = W / max(1, σ̂/c),   0 < c < 1,
//
// where σ̂ estimates the spectral norm ‖W‖₂ of the linear operator the layer
// applies (Behrmann et al. 2019, §2 and §5; Miyato et al. 2018). For a dense
// layer that is the largest singular value of the weight matrix; for a
// convolution it is the norm of the convolution operator on the layer's
// input shape, with its stride and padding. σ̂ comes from power iteration with
// persistent vectors u and v that are advanced a few steps per training step,
// and it enters the graph as σ̂ = ⟨v, W u⟩ with u and v held fixed, so
// gradients flow to W through both W and σ̂.
//
// The estimate is a lower bound that converges from below, so ‖W̃‖₂ ≤ c holds
// only approximately until the iteration has converged; [SpectralNorm.Converge]
// iterates to a tolerance and reports when it cannot.
package normalize
