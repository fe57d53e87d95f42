package blocks

import (
	"github.com/iresnet/iresnet/normalize"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// LayerCertificate reports one spectrally normalized layer of a residual
// branch: the power-iteration estimate of its raw weight's norm and a
// certified upper bound of the norm of the weight the layer applies.
type LayerCertificate struct {
	Layer string  // layer name within the block, e.g. "fc0" or "conv2"
	Sigma float64 // power-iteration estimate σ̂ of the raw weight's norm (a lower bound)
	Raw   float64 // certified upper bound of the raw weight's operator norm
	Bound float64 // certified upper bound of the applied weight's operator norm
	Coeff float64 // c; 0 for an unconstrained (vanilla) branch
}

// BlockCertificate is the certificate of one residual block: its layers
// and Lip(g) ≤ Π Bound over them (the activations are 1-Lipschitz). The
// block is certified invertible when Lipschitz < 1.
type BlockCertificate struct {
	Layers    []LayerCertificate
	Lipschitz float64
}

// Certify makes the guarantee exact: it rescales every layer's weight in
// place to W / max(1, B(W)/c), where B is the certified upper bound of
// normalize.SpectralNorm.Bound, so that the weight the graph then applies
// (W̃ = W / max(1, σ̂/c) with σ̂ ≤ ‖W‖₂ ≤ c) has an operator norm of at
// most c, whatever the state of the power iteration. A weight already
// within c is not changed. An unconstrained branch is left alone and
// reported with Coeff 0.
//
// Certify changes parameters: callers that keep training afterwards
// should certify a copy (the trainer swaps the evaluation weights in and
// restores the training weights afterwards).
func (r *Residual) Certify() (BlockCertificate, error) {
	if !r.g.normalized() {
		return r.Bounds()
	}
	bc := BlockCertificate{Lipschitz: 1}
	for _, l := range r.g.layers() {
		raw, after, err := l.sn.Certify(l.w)
		if err != nil {
			return bc, errors.Wrapf(err, "blocks: certifying layer %s", l.name)
		}
		lc := LayerCertificate{Layer: l.name, Sigma: l.sn.Sigma(), Raw: raw, Bound: after, Coeff: l.sn.Coeff()}
		bc.Layers = append(bc.Layers, lc)
		bc.Lipschitz *= after
	}
	return bc, nil
}

// Bounds reports the certified bound of each layer's weight taken as it
// is, without rescaling, e.g. for weights that were certified before and
// saved: the graph applies W / max(1, σ̂/c) with a divisor of at least 1,
// so Bound bounds the applied weight's norm whatever σ̂ is. For an
// unconstrained branch Coeff is 0.
func (r *Residual) Bounds() (BlockCertificate, error) {
	bc := BlockCertificate{Lipschitz: 1}
	for _, l := range r.g.layers() {
		b, err := l.sn.Bound(l.w)
		if err != nil {
			return bc, errors.Wrapf(err, "blocks: bounding layer %s", l.name)
		}
		lc := LayerCertificate{Layer: l.name, Sigma: l.sn.Sigma(), Raw: b, Bound: b}
		if r.g.normalized() {
			lc.Coeff = l.sn.Coeff()
		}
		bc.Layers = append(bc.Layers, lc)
		bc.Lipschitz *= lc.Bound
	}
	return bc, nil
}

// SpectralLayer is one spectrally normalized layer of a residual branch.
type SpectralLayer struct {
	Name   string                  // layer name within the block, e.g. "conv0"
	Weight *tensor.Dense           // the raw weight, bound to the graphs (not a copy)
	Norm   *normalize.SpectralNorm // its normalization state and geometry
}

// SpectralLayers returns every spectrally normalized layer in layer order,
// e.g. for callers that save and restore weights around Certify or check
// them independently.
func (r *Residual) SpectralLayers() []SpectralLayer {
	ls := r.g.layers()
	out := make([]SpectralLayer, len(ls))
	for i, l := range ls {
		out[i] = SpectralLayer{Name: l.name, Weight: l.w, Norm: l.sn}
	}
	return out
}
