// Package interop holds the PyTorch side of iresnet-go's checkpoints and
// the test that holds it to the Go side.
//
// iresnet_torch.py (Python, PyTorch only) rebuilds a trained model from a
// checkpoint of format iresnet-go/v2 — a dense toy flow or a multi-scale
// image model with its learned prior and classifier head — with the
// evaluation weights (the certified "applied/" weights of spectrally
// normalized layers, the "ema/" average of the others when the run kept
// one, else "model/"), and gives the latent, the exact log-det from the
// full Jacobian, log p, the classifier's logits and the inverse by
// fixed-point iteration:
//
//	import iresnet_torch
//	m = iresnet_torch.load("runs/8gaussians")
//	z, log_det = m(x)
//	x_back = m.inverse(z)
//
// check.py compares it with numbers computed in Go; the test in this
// package trains tiny models, writes those numbers and runs it when a
// python3 that imports torch is on PATH (apt-get install python3-torch
// python3-numpy).
package interop
