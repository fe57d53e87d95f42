// Package graph is the Gorgonia-level machinery of the i-ResNet library.
//
// # Repeatable, differentiable VJPs
//
// [VJP] computes vector-Jacobian products as new nodes of a graph. Unlike
// gorgonia.Grad it keeps no state on the nodes, so it is correct when
// called any number of times on one graph, and its results can be
// differentiated again: the log-det power series of an i-ResNet needs k
// VJPs per term and then the gradient of all of them (second-order reverse
// mode).
//
// # Ops Gorgonia lacks
//
// Every op here implements gorgonia.SDOp with a derivative that is itself
// differentiable where the method needs it:
//   - [Conv2d] and [ConvTranspose2d]: a convolution, its transpose and its
//     kernel adjoint form a family closed under differentiation (gorgonia's
//     im2col/col2im is not twice differentiable);
//   - [Activate]: ReLU, ELU, LipSwish and softplus with derivatives to
//     third order;
//   - [AtLeast], [BroadcastChannels], [SumChannels], [AddBias], [Squeeze],
//     [Unsqueeze], [SpatialMean], [SpatialSpread], [StopGradient] and
//     [LogDetIPlus].
//
// Every op's hash covers all of its parameters, since gorgonia merges nodes
// with equal hashes.
//
// # Building and running
//
// A [Builder] owns one graph, a hierarchical name scope, and registries of
// learnable parameters and noise inputs. Noise inputs (Hutchinson probes)
// hold a draw from the moment they are registered, so a graph run before any
// [Builder.Resample] computes a real estimate, never zeros; Resample redraws
// them before each run. [Func] compiles a function of one tensor for
// repeated numeric evaluation; [Builder.WriteDOT] draws the graph with one
// cluster per scope, or with every scope at a given depth collapsed into one
// summarizing box ([DOTOptions].Depth).
package graph
