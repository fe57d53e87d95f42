package trainer

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/datasets"
	"github.com/pkg/errors"
)

// source supplies training batches and a fixed held-out set, both already
// preprocessed into the model's input space.
type source interface {
	// shape is the per-sample shape, e.g. (2) or (1, 28, 28).
	shape() []int
	// batch fills dst (n × size) with a fresh training batch and, when
	// labels is not nil, labels (n) with its classes.
	batch(rng *rand.Rand, dst []float64, labels []int) error
	// heldOut returns the held-out points (n × size) and each point's
	// preprocessing log-det (nil when there is none).
	heldOut() (points []float64, preLogDet []float64)
}

// toySource draws from a 2-D toy density; every batch is new data.
type toySource struct {
	toy  datasets.Toy
	test []float64
}

func newToySource(toy datasets.Toy, seed uint64, n int) (*toySource, error) {
	// The held-out set has its own stream, so it does not depend on how
	// many training batches were drawn.
	test, err := toy.Sample(rand.New(rand.NewPCG(seed, 0x7e57)), n)
	if err != nil {
		return nil, errors.Wrap(err, "trainer: drawing the held-out set")
	}
	return &toySource{toy: toy, test: test}, nil
}

func (s *toySource) shape() []int { return []int{2} }

func (s *toySource) batch(rng *rand.Rand, dst []float64, labels []int) error {
	if labels != nil {
		return errors.New("trainer: toy densities have no labels")
	}
	pts, err := s.toy.Sample(rng, len(dst)/2)
	if err != nil {
		return err
	}
	copy(dst, pts)
	return nil
}

func (s *toySource) heldOut() ([]float64, []float64) { return s.test, nil }

// imageSource serves dequantized (and optionally logit-transformed) images
// of a finite training set, drawn uniformly with replacement, and a fixed
// dequantization of the first EvalSize test images.
type imageSource struct {
	train, test *datasets.Images
	logit       *datasets.LogitTransform
	testX       []float64
	testLogDet  []float64
}

func newImageSource(cfg *ImageConfig, seed uint64, evalSize int) (*imageSource, error) {
	load := func(split datasets.Split) (*datasets.Images, error) {
		var im *datasets.Images
		var err error
		switch cfg.Set {
		case CIFAR10:
			if cfg.Dir == "" {
				return nil, errors.New("trainer: CIFAR-10 needs a folder of its binary batches (it cannot be downloaded here)")
			}
			im, err = datasets.LoadCIFAR10(cfg.Dir, split)
		case CIFAR100:
			if cfg.Dir == "" {
				return nil, errors.New("trainer: CIFAR-100 needs a folder holding its train.bin and test.bin (it cannot be downloaded here)")
			}
			im, err = datasets.LoadCIFAR100(cfg.Dir, split, true)
		default:
			dir := cfg.Dir
			if dir == "" {
				if dir, err = datasets.MNISTDir(); err != nil {
					return nil, err
				}
			}
			im, err = datasets.LoadMNIST(dir, split)
		}
		if err != nil {
			return nil, err
		}
		return pad(im, cfg.Pad), nil
	}
	train, err := load(datasets.Train)
	if err != nil {
		return nil, err
	}
	test, err := load(datasets.Test)
	if err != nil {
		return nil, err
	}
	s := &imageSource{train: train, test: test}
	if cfg.LogitAlpha > 0 {
		s.logit = &datasets.LogitTransform{Alpha: cfg.LogitAlpha}
	}
	n := min(evalSize, test.N)
	d := test.Dim()
	// A fixed dequantization of the held-out images, from its own stream.
	xs, lds := s.preprocess(rand.New(rand.NewPCG(seed, 0x7e57)), test.Pixels[:n*d], n, d)
	s.testX, s.testLogDet = xs, lds
	return s, nil
}

func (s *imageSource) shape() []int { return []int{s.train.C, s.train.H, s.train.W} }

// preprocess dequantizes n images and applies the logit transform.
func (s *imageSource) preprocess(rng *rand.Rand, pixels []uint8, n, d int) ([]float64, []float64) {
	x := make([]float32, n*d)
	datasets.Dequantize(x, pixels, rng)
	var lds []float64
	if s.logit != nil {
		x, lds = s.logit.Forward(x, d)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out, lds
}

func (s *imageSource) batch(rng *rand.Rand, dst []float64, labels []int) error {
	d := s.train.Dim()
	n := len(dst) / d
	pixels := make([]uint8, n*d)
	for i := 0; i < n; i++ {
		k := rng.IntN(s.train.N)
		copy(pixels[i*d:(i+1)*d], s.train.Image(k))
		if labels != nil {
			labels[i] = s.train.Labels[k]
		}
	}
	x, _ := s.preprocess(rng, pixels, n, d)
	copy(dst, x)
	return nil
}

func (s *imageSource) heldOut() ([]float64, []float64) { return s.testX, s.testLogDet }

// pad surrounds every image with p zero pixels on each side.
func pad(im *datasets.Images, p int) *datasets.Images {
	if p == 0 {
		return im
	}
	h, w := im.H+2*p, im.W+2*p
	out := &datasets.Images{N: im.N, C: im.C, H: h, W: w, Labels: im.Labels, Classes: im.Classes,
		Pixels: make([]uint8, im.N*im.C*h*w)}
	for n := 0; n < im.N; n++ {
		for c := 0; c < im.C; c++ {
			for y := 0; y < im.H; y++ {
				src := im.Pixels[((n*im.C+c)*im.H+y)*im.W : ((n*im.C+c)*im.H+y+1)*im.W]
				copy(out.Pixels[((n*im.C+c)*h+y+p)*w+p:], src)
			}
		}
	}
	return out
}

// testLabels returns the labels of the held-out images.
func (s *imageSource) testLabels() []int { return s.test.Labels[:len(s.testX)/s.test.Dim()] }
