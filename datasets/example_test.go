package datasets_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iresnet/iresnet/datasets"
)

func ExampleToy_Sample() {
	rng := rand.New(rand.NewPCG(1, 1))
	pts, err := datasets.Checkerboard.Sample(rng, 3)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(pts); i += 2 {
		fmt.Printf("(%.3g, %.3g) log p = %.3g\n", pts[i], pts[i+1],
			datasets.CheckerboardLogDensity(pts[i], pts[i+1]))
	}
	_, err = datasets.Rings.Sample(rng, 0)
	fmt.Println(err)
	// Output:
	// (-1.28, 3.82) log p = -3.47
	// (2.59, 2.96) log p = -3.47
	// (2.32, -0.43) log p = -3.47
	// datasets: sample size must be positive, got 0
}

func ExampleParseToy() {
	t, err := datasets.ParseToy("2spirals")
	fmt.Println(t == datasets.TwoSpirals, err)
	_, err = datasets.ParseToy("9gaussians")
	fmt.Println(err)
	// Output:
	// true <nil>
	// datasets: unknown toy density "9gaussians" (known: "8gaussians", "checkerboard", "2moons", "2spirals", "pinwheel", "circles", "swissroll", "rings")
}

func ExampleToys() {
	fmt.Println(datasets.Toys())
	// Output:
	// [8gaussians checkerboard 2moons 2spirals pinwheel circles swissroll rings]
}

func ExampleEightGaussiansLogDensity() {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 100000
	pts, _ := datasets.EightGaussians.Sample(rng, n)
	var nll float64
	for i := 0; i < n; i++ {
		nll -= datasets.EightGaussiansLogDensity(pts[2*i], pts[2*i+1])
	}
	fmt.Printf("log p at a center: %.3g\n", datasets.EightGaussiansLogDensity(datasets.EightGaussiansRadius, 0))
	fmt.Printf("log p at the origin: %.3g\n", datasets.EightGaussiansLogDensity(0, 0))
	fmt.Printf("Monte Carlo entropy: %.3g nats (exact %.6g)\n", nll/n, datasets.EightGaussiansEntropy)
	// Output:
	// log p at a center: -1.84
	// log p at the origin: -31.8
	// Monte Carlo entropy: 2.83 nats (exact 2.83188)
}
