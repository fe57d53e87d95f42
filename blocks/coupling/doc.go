// Package coupling builds the coupling-layer normalizing flows that the
// i-ResNet paper compares against (Behrmann et al. 2019, Tables 2 and 4):
// NICE, Real NVP and Glow, as Gorgonia subgraphs with the contract of
// package blocks. Every layer and model is a [blocks.Bijector] (Forward
// builds y and a per-row log-det (N) in a graph; Inverse evaluates x
// numerically, exactly: coupling layers need no fixed-point iteration) and a
// [blocks.Tensorer]; models with ActNorm are [blocks.DataInitializer]s.
//
// # Layers
//
//   - [Coupling]: additive (NICE) or affine (Real NVP, Glow) coupling.
//     The input splits into a conditioning part x_a and a transformed part
//     x_b, by a binary mask (alternating features, first/second half,
//     checkerboard) or by channel halves; y_a = x_a and
//     y_b = x_b ⊙ exp(s(x_a)) + t(x_a) (affine) or y_b = x_b + t(x_a)
//     (additive), with log|det| = Σ s (affine) or 0 (additive).
//   - [Scaling]: NICE's diagonal scaling y = x ⊙ exp(s), log|det| = Σ s.
//   - [InvConv1x1]: Glow's invertible 1×1 convolution in LU form,
//     W = P L (U + diag(sign(s) ⊙ exp(log|s|))), log|det| = H·W·Σ log|s|.
//   - [Permute]: a fixed channel permutation (the reverse permutation of
//     Real NVP and of "additive Glow"), log|det| = 0.
//   - [Flatten]: (N, C, H, W) → (N, C·H·W), so dense flows read images.
//   - [MultiScale]: scales of layers with factor-out of half the channels
//     between them, mapping an image to one latent vector (N, C·H·W) laid
//     out like blocks.MultiScale's (factored halves first, in order).
//
// Layers reuse blocks.ActNorm, blocks.Squeeze, blocks.SplitChannels,
// blocks.MergeChannels and blocks.Chain.
//
// # Models
//
//   - [NewNICE] (Dinh, Krueger & Bengio 2014, §3–§5): additive couplings
//     with alternating masks and MLP coupling nets, then diagonal scaling.
//   - [NewRealNVP] (Dinh, Sohl-Dickstein & Bengio 2017, §3) on images:
//     checkerboard and channel affine couplings with residual conv nets,
//     squeeze and factor-out; [NewDenseRealNVP] for vectors.
//   - [NewGlow] (Kingma & Dhariwal 2018, §3) on images: levels of squeeze,
//     K × (ActNorm, 1×1 conv or reverse permutation, affine or additive
//     coupling), split; [NewDenseGlow] for vectors.
//
// Every model's latent has a standard Gaussian prior, so blocks.Flow (or
// the trainer's log-density) applies to them unchanged.
//
// # Departures from the papers
//
// Real NVP's coupling nets use batch normalization and weight
// normalization; batch statistics make the log-det of a row depend on the
// rest of the batch, so the nets here have neither. Glow's coupling nets
// contain ActNorm layers; here they are plain convolutions with the last
// one zero-initialized (so each coupling starts as the identity, as in
// Glow). Glow's code shifts before it scales, y_b = (x_b + t) ⊙ exp(s);
// here y_b = x_b ⊙ exp(s) + t for every family, which only renames t.
// Glow's learned split prior is replaced by the standard Gaussian, and so
// is NICE's logistic prior (Dinh et al. 2014, §3.4): the trainer's prior
// applies to every family alike.
//
// # Gorgonia notes
//
// gorgonia's Reshape returns a value that shares its input's memory while
// the tape machine treats the two as separate registers, so an op that
// writes in place into the reshaped value overwrites the input (the
// blockstest rerun check shows it on a toy map). This package reshapes
// with its own copying op instead. gorgonia's Slice drops an axis sliced
// to length 1, so halves of a 2-channel tensor are restored to
// (N, 1, H, W) after blocks.SplitChannels.
package coupling
