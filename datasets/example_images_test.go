package datasets_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/iresnet/iresnet/datasets"
)

func ExampleLoadMNIST() {
	// Write two 2×3 "digits" in MNIST's gzipped IDX format and read them
	// back. For the real data, pass the folder MNISTDir returns.
	dir, err := os.MkdirTemp("", "mnist-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	digits := &datasets.Images{
		N: 2, C: 1, H: 2, W: 3,
		Pixels:  []uint8{0, 255, 0, 0, 255, 0, 255, 255, 255, 0, 0, 255},
		Labels:  []int{1, 7},
		Classes: 10,
	}
	if err := datasets.WriteMNIST(dir, datasets.Test, digits, true); err != nil {
		panic(err)
	}
	m, err := datasets.LoadMNIST(dir, datasets.Test)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d images of %d×%d×%d, labels %v, image 1 %v\n", m.N, m.C, m.H, m.W, m.Labels, m.Image(1))
	_, err = datasets.LoadMNIST(dir, datasets.Train)
	fmt.Println(err != nil)
	// Output:
	// 2 images of 1×2×3, labels [1 7], image 1 [255 255 255 0 0 255]
	// true
}

func ExampleBitsPerDim() {
	rng := rand.New(rand.NewPCG(1, 1))
	pixels := []uint8{0, 64, 128, 255} // one 2×2 grey image: d = 4
	const d = 4
	x := make([]float32, d)
	datasets.Dequantize(x, pixels, rng)

	// No preprocessing and a model uniform on [0, 1)^d: log p = 0, and
	// bits/dim is 8, the cost of storing each byte as is.
	fmt.Printf("uniform model:  %.6f bits/dim\n", datasets.BitsPerDim([]float64{0}, d, nil)[0])

	// The logit preprocessing with CIFAR's α and a standard logistic model
	// on y: the logistic puts mass 2α outside the squeezed range, so each
	// dimension costs −log₂(1−2α) bits more than 8.
	lt := datasets.LogitTransform{Alpha: datasets.CIFARLogitAlpha}
	y, logDet := lt.Forward(x, d)
	var logp float64
	for _, v := range y {
		s := 1 / (1 + math.Exp(-float64(v)))
		logp += math.Log(s * (1 - s))
	}
	fmt.Printf("logistic model: %.6f bits/dim\n", datasets.BitsPerDim([]float64{logp}, d, logDet)[0])
	fmt.Printf("8 − log₂(0.9) = %.6f\n", 8-math.Log2(0.9))
	// Output:
	// uniform model:  8.000000 bits/dim
	// logistic model: 8.152003 bits/dim
	// 8 − log₂(0.9) = 8.152003
}
