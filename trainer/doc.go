// Package trainer trains i-ResNet density models: it builds the training
// graph once for the batch shape and re-runs it each step with new data and
// fresh Hutchinson probes, steps Adam or Adamax on the graph's symbolic
// gradients (second-order reverse mode through the log-det estimator),
// advances spectral-norm power iteration, evaluates held-out NLL with the
// exact log-det where the dimension allows, keeps an exponential moving
// average of the weights, and writes metrics and atomic, resumable
// checkpoints (package checkpoint).
//
// A run is four things, each plain JSON-serializable data in Config: a data
// source (datasets.SourceConfig: a toy density or an image set with its
// preprocessing), a model (ModelConfig: a dense flow or a multi-scale
// i-ResNet), an objective (density, classify or hybrid) and the training
// settings. New builds the model and the source from them; the trainer never
// asks which kind of data it has. Config.RegisterFlags declares a
// command-line flag for every setting. Sizes are checked against Limits
// (DefaultLimits, or others given by WithLimits).
//
// Open loads a trained model for inference (a Trained): log p, samples,
// forward and inverse passes, classification, and evaluation on held-out
// data it reads only when asked (HeldOut). The pictures of a model are drawn
// by package trainer/pictures, its expression graph by trainer/modelgraph,
// both from a Trained.
//
// # Checkpoints
//
// Save writes a safetensors file (package checkpoint) of format
// CheckpointFormat. Every piece of state is a named tensor, named by the
// model's structure ("scale0/block0/conv0/weight"; residual blocks, ActNorms
// and squeezes numbered per kind): under "model/" the parameters,
// power-iteration vectors (PyTorch's names: "weight_v" in the input space,
// "weight_u" in the output space), σ̂ ("weight_sigma") and ActNorm flags
// ("initialized"); under "ema/" the weight average; under "applied/" the
// certified evaluation weights; under "optim/m/" and "optim/v/" the
// optimizer moments. The metadata holds "format", "config" (snake_case JSON
// of Config), "step", "optim_t", "rng" (the random source's state) and
// "checksum". Load decodes strictly: a checksum mismatch, an unknown or
// missing tensor, metadata key or configuration field, a size beyond its
// documented limit, a non-finite value or an invalid state (σ̂ < 0, a
// non-unit power-iteration vector, an ActNorm flag other than 0 or 1) is an
// error naming it; each block checks the state it owns
// (blocks.NamedTensor.Check).
//
// The loss is the negative log-likelihood −mean_n log p(x_n), with
// log p(x) = log N(F(x); 0, I) + log|det ∂F/∂x| (Behrmann et al. 2019, eq. 4).
package trainer
