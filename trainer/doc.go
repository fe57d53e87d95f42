// Package trainer trains i-ResNet density models: it builds the training
// graph once for the batch shape and re-runs it each step with new data and
// fresh Hutchinson probes, steps Adam or Adamax on the graph's symbolic
// gradients (second-order reverse mode through the log-det estimator),
// advances spectral-norm power iteration, evaluates held-out NLL with the
// exact log-det where the dimension allows, keeps an exponential moving
// average of the weights, and writes metrics and atomic, resumable
// checkpoints (package checkpoint).
//
// The loss is the negative log-likelihood −mean_n log p(x_n), with
// log p(x) = log N(F(x); 0, I) + log|det ∂F/∂x| (Behrmann et al. 2019, eq. 4).
package trainer
