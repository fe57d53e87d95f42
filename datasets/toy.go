package datasets

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Toy names one of the toy two-dimensional densities. Its zero value is
// EightGaussians.
type Toy int

// The toy densities. Each comment gives the generating process, its scaling
// and a bounding box that at least 99.9% of samples fall in (in practice all
// but a handful in a million).
const (
	// EightGaussians is an equal-weight mixture of eight isotropic
	// Gaussians. As in FFJORD, a point is drawn as scale·c_k + 0.5·ε with
	// scale 4, c_k = (cos kπ/4, sin kπ/4), k uniform in {0..7} and ε standard
	// normal, and the result is divided by 1.414. The mixture therefore has
	// centers on the circle of radius EightGaussiansRadius = 4/1.414 ≈ 2.83
	// and component standard deviation EightGaussiansStd = 0.5/1.414 ≈ 0.354.
	// Its log density is EightGaussiansLogDensity. Bounding box [-4.5, 4.5]².
	EightGaussians Toy = iota

	// Checkerboard is uniform on the eight "black" squares of a 4×4
	// checkerboard of side-2 squares covering [-4, 4)²: the squares whose
	// indices floor(x/2)+floor(y/2) are even. FFJORD's recipe: x1 uniform in
	// [-2, 2), x2 = u − 2b + (floor(x1) mod 2) with u uniform in [0, 1) and b
	// a fair bit, and the point is 2·(x1, x2). Its log density is
	// CheckerboardLogDensity (−log 32 on the support). Bounding box
	// [-4, 4]² (exact).
	Checkerboard

	// TwoMoons is scikit-learn's make_moons with noise 0.1 (two interleaved
	// half circles of radius 1, ⌊n/2⌋ points on the outer one and the rest
	// on the inner one, at evenly spaced angles, shuffled, plus N(0, 0.1²)
	// noise), mapped by (x, y) ↦ (2x − 1, 2y − 0.2) as in FFJORD. The
	// noise-free curves span [-3, 3]×[-1.2, 1.8]. Bounding box [-4, 4]².
	TwoMoons

	// TwoSpirals is two interleaved spirals, one the point reflection of the
	// other. On the first, r = 3π·√u with u uniform in [0, 1) (540° of
	// turn), and the point is (−r·cos r + 0.5·u1, r·sin r + 0.5·u2) with u1,
	// u2 uniform in [0, 1); the second negates that. As in FFJORD the result
	// is divided by 3 and N(0, 0.1²) noise is added. The first spiral gets
	// ⌈n/2⌉ points, the second the rest, shuffled; unlike FFJORD the two
	// halves are drawn independently rather than as mirror pairs. Bounding
	// box [-4, 4]².
	TwoSpirals

	// Pinwheel is the five-armed pinwheel of FFJORD (after Johnson et al.,
	// 2016): each arm k ∈ {0..4} gets n/5 points (the first n mod 5 arms one
	// more); a point has features f = (1 + 0.3·ε1, 0.1·ε2) rotated clockwise
	// by the angle 2πk/5 + 0.25·exp(f1), is multiplied by 2, and the points
	// are shuffled. Its squared norm has mean 4·(1 + 0.3² + 0.1²) = 4.4.
	// Bounding box [-5, 5]².
	Pinwheel

	// Circles is scikit-learn's make_circles with factor 0.5 and noise 0.08
	// (⌊n/2⌋ points evenly spaced on the unit circle and the rest on the
	// circle of radius 0.5, shuffled, plus N(0, 0.08²) noise), multiplied by
	// 3 as in FFJORD: radii 3 and 1.5, noise standard deviation 0.24.
	// Bounding box [-4.5, 4.5]².
	Circles

	// SwissRoll is scikit-learn's make_swiss_roll with noise 1.0 projected
	// on its first and third coordinates and divided by 5, as in FFJORD:
	// t = 1.5π(1 + 2u) with u uniform in [0, 1), the point is
	// (t·cos t + ε1, t·sin t + ε2)/5 with ε standard normal. Its mean is
	// (0.4, 2/(15π)). Bounding box [-4, 4]².
	SwissRoll

	// Rings is FFJORD's four concentric rings of radii 3, 2.25, 1.5 and
	// 0.75: ⌊n/4⌋ points on each of the three outer rings and the rest on
	// the inner one, evenly spaced in angle from 0, shuffled, plus
	// N(0, 0.08²) noise. Bounding box [-3.5, 3.5]².
	Rings

	numToys // number of toys; keep last
)

// Toys returns every toy density in declaration order. The slice is freshly
// allocated on each call.
func Toys() []Toy {
	ts := make([]Toy, numToys)
	for i := range ts {
		ts[i] = Toy(i)
	}
	return ts
}

// String returns the conventional name of the density: "8gaussians",
// "checkerboard", "2moons", "2spirals", "pinwheel", "circles", "swissroll"
// or "rings". An out-of-range value gives "Toy(N)".
func (t Toy) String() string {
	switch t {
	case EightGaussians:
		return "8gaussians"
	case Checkerboard:
		return "checkerboard"
	case TwoMoons:
		return "2moons"
	case TwoSpirals:
		return "2spirals"
	case Pinwheel:
		return "pinwheel"
	case Circles:
		return "circles"
	case SwissRoll:
		return "swissroll"
	case Rings:
		return "rings"
	}
	return "Toy(" + strconv.Itoa(int(t)) + ")"
}

// ParseToy returns the Toy whose String is name. For an unknown name the
// error lists every known name.
func ParseToy(name string) (Toy, error) {
	names := make([]string, 0, numToys)
	for _, t := range Toys() {
		if t.String() == name {
			return t, nil
		}
		names = append(names, strconv.Quote(t.String()))
	}
	return 0, errors.Errorf("datasets: unknown toy density %q (known: %s)", name, strings.Join(names, ", "))
}

// Sample draws n points from the density using rng as the only source of
// randomness and returns them as a row-major n×2 matrix: point i is
// (s[2i], s[2i+1]). It fails if n < 1, rng is nil or t is not a known toy.
func (t Toy) Sample(rng *rand.Rand, n int) ([]float64, error) {
	if n < 1 {
		return nil, errors.Errorf("datasets: sample size must be positive, got %d", n)
	}
	if rng == nil {
		return nil, errors.New("datasets: nil random source")
	}
	switch t {
	case EightGaussians:
		return sampleEightGaussians(rng, n), nil
	case Checkerboard:
		return sampleCheckerboard(rng, n), nil
	case TwoMoons:
		return sampleTwoMoons(rng, n), nil
	case TwoSpirals:
		return sampleTwoSpirals(rng, n), nil
	case Pinwheel:
		return samplePinwheel(rng, n), nil
	case Circles:
		return sampleCircles(rng, n), nil
	case SwissRoll:
		return sampleSwissRoll(rng, n), nil
	case Rings:
		return sampleRings(rng, n), nil
	}
	return nil, errors.Errorf("datasets: unknown toy density %v", t)
}

// Entropy returns the differential entropy of the density in nats where
// it is known (8gaussians: EightGaussiansEntropy; checkerboard, uniform on
// eight squares of side 2: log 32): the lowest expected negative
// log-likelihood per point any model can reach.
func (t Toy) Entropy() (float64, bool) {
	switch t {
	case EightGaussians:
		return EightGaussiansEntropy, true
	case Checkerboard:
		return math.Log(32), true
	}
	return 0, false
}

// Parameters of the 8gaussians mixture.
const (
	// EightGaussiansRadius is the distance of each 8gaussians mixture
	// center from the origin: 4/1.414 ≈ 2.8289.
	EightGaussiansRadius = eightScale / ffjordDivisor
	// EightGaussiansStd is the standard deviation of each coordinate in each
	// 8gaussians mixture component: 0.5/1.414 ≈ 0.35361.
	EightGaussiansStd = eightNoise / ffjordDivisor
	// EightGaussiansEntropy is the differential entropy, in nats, of the
	// 8gaussians density, −E[log p(X)] with log p = EightGaussiansLogDensity.
	// It is the lowest expected negative log-likelihood per point any model
	// can achieve. It was computed by midpoint quadrature on [-6, 6]² (steps
	// 0.02, 0.01 and 0.005 agree to 1e-11); a Monte Carlo estimate from
	// 200k samples agrees to within its standard error of about 0.002. It is
	// slightly below the value log 8 + log(2πe·σ²) ≈ 2.83818 for perfectly
	// separated components because neighbouring components overlap a little.
	EightGaussiansEntropy = 2.8318804061

	eightScale    = 4.0
	eightNoise    = 0.5
	ffjordDivisor = 1.414
)

// eightCenters returns the unit-circle directions of the 8gaussians centers,
// c_k = (cos kπ/4, sin kπ/4).
func eightCenters() [8][2]float64 {
	const s = math.Sqrt2 / 2
	return [8][2]float64{{1, 0}, {s, s}, {0, 1}, {-s, s}, {-1, 0}, {-s, -s}, {0, -1}, {s, -s}}
}

func sampleEightGaussians(rng *rand.Rand, n int) []float64 {
	cs := eightCenters()
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x := eightNoise * rng.NormFloat64()
		y := eightNoise * rng.NormFloat64()
		c := cs[rng.IntN(len(cs))]
		out[2*i] = (x + eightScale*c[0]) / ffjordDivisor
		out[2*i+1] = (y + eightScale*c[1]) / ffjordDivisor
	}
	return out
}

// EightGaussiansLogDensity returns the natural log of the 8gaussians density
// at (x, y): the equal-weight mixture of the eight isotropic Gaussians with
// centers EightGaussiansRadius·(cos kπ/4, sin kπ/4), k = 0..7, and standard
// deviation EightGaussiansStd. It is computed with a log-sum-exp, so it stays
// finite far from the centers.
func EightGaussiansLogDensity(x, y float64) float64 {
	const v = EightGaussiansStd * EightGaussiansStd
	var e [8]float64
	m := math.Inf(-1)
	for k, c := range eightCenters() {
		dx := x - EightGaussiansRadius*c[0]
		dy := y - EightGaussiansRadius*c[1]
		e[k] = -(dx*dx + dy*dy) / (2 * v)
		m = math.Max(m, e[k])
	}
	var s float64
	for _, ek := range e {
		s += math.Exp(ek - m)
	}
	return m + math.Log(s) - math.Log(8) - math.Log(2*math.Pi*v)
}

func sampleCheckerboard(rng *rand.Rand, n int) []float64 {
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x1 := 4*rng.Float64() - 2
		x2 := rng.Float64() - 2*float64(rng.IntN(2))
		x2 += floorMod2(x1)
		out[2*i] = 2 * x1
		out[2*i+1] = 2 * x2
	}
	return out
}

// floorMod2 returns floor(x) mod 2 in {0, 1}, with Python's sign convention.
func floorMod2(x float64) float64 {
	m := math.Mod(math.Floor(x), 2)
	if m < 0 {
		m += 2
	}
	return m
}

// CheckerboardLogDensity returns the natural log of the checkerboard density
// at (x, y): −log 32 on the eight black side-2 squares of [-4, 4)² (those
// with floor(x/2)+floor(y/2) even, total area 32) and −Inf elsewhere.
func CheckerboardLogDensity(x, y float64) float64 {
	if !(x >= -4 && x < 4 && y >= -4 && y < 4) {
		return math.Inf(-1)
	}
	if floorMod2(math.Floor(x/2)+math.Floor(y/2)) != 0 {
		return math.Inf(-1)
	}
	return -math.Log(32)
}

// linspace returns m evenly spaced values from a to b, including b only if
// endpoint is set, as numpy.linspace does.
func linspace(a, b float64, m int, endpoint bool) []float64 {
	out := make([]float64, m)
	div := float64(m)
	if endpoint {
		div = float64(m - 1)
	}
	for i := range out {
		if div > 0 {
			out[i] = a + (b-a)*float64(i)/div
		} else {
			out[i] = a
		}
	}
	return out
}

// shuffleRows permutes the rows of the row-major m×2 matrix p in place.
func shuffleRows(rng *rand.Rand, p []float64) {
	rng.Shuffle(len(p)/2, func(i, j int) {
		p[2*i], p[2*j] = p[2*j], p[2*i]
		p[2*i+1], p[2*j+1] = p[2*j+1], p[2*i+1]
	})
}

// addNoise adds independent N(0, std²) noise to every entry of p.
func addNoise(rng *rand.Rand, p []float64, std float64) {
	for i := range p {
		p[i] += std * rng.NormFloat64()
	}
}

func sampleTwoMoons(rng *rand.Rand, n int) []float64 {
	nOut := n / 2
	nIn := n - nOut
	out := make([]float64, 0, 2*n)
	for _, a := range linspace(0, math.Pi, nOut, true) {
		out = append(out, math.Cos(a), math.Sin(a))
	}
	for _, a := range linspace(0, math.Pi, nIn, true) {
		out = append(out, 1-math.Cos(a), 0.5-math.Sin(a))
	}
	shuffleRows(rng, out)
	addNoise(rng, out, 0.1)
	for i := 0; i < n; i++ {
		out[2*i] = 2*out[2*i] - 1
		out[2*i+1] = 2*out[2*i+1] - 0.2
	}
	return out
}

func sampleTwoSpirals(rng *rand.Rand, n int) []float64 {
	first := (n + 1) / 2
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		r := 3 * math.Pi * math.Sqrt(rng.Float64())
		x := -math.Cos(r)*r + 0.5*rng.Float64()
		y := math.Sin(r)*r + 0.5*rng.Float64()
		if i >= first {
			x, y = -x, -y
		}
		out[2*i] = x / 3
		out[2*i+1] = y / 3
	}
	shuffleRows(rng, out)
	addNoise(rng, out, 0.1)
	return out
}

func samplePinwheel(rng *rand.Rand, n int) []float64 {
	const (
		classes       = 5
		radialStd     = 0.3
		tangentialStd = 0.1
		rate          = 0.25
	)
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		f0 := 1 + radialStd*rng.NormFloat64()
		f1 := tangentialStd * rng.NormFloat64()
		a := 2*math.Pi*float64(i%classes)/classes + rate*math.Exp(f0)
		s, c := math.Sincos(a)
		// Row vector f times [[c, -s], [s, c]], as FFJORD's einsum.
		out[2*i] = 2 * (f0*c + f1*s)
		out[2*i+1] = 2 * (-f0*s + f1*c)
	}
	shuffleRows(rng, out)
	return out
}

func sampleCircles(rng *rand.Rand, n int) []float64 {
	nOut := n / 2
	nIn := n - nOut
	out := make([]float64, 0, 2*n)
	for _, a := range linspace(0, 2*math.Pi, nOut, false) {
		out = append(out, math.Cos(a), math.Sin(a))
	}
	for _, a := range linspace(0, 2*math.Pi, nIn, false) {
		out = append(out, 0.5*math.Cos(a), 0.5*math.Sin(a))
	}
	shuffleRows(rng, out)
	addNoise(rng, out, 0.08)
	for i := range out {
		out[i] *= 3
	}
	return out
}

func sampleSwissRoll(rng *rand.Rand, n int) []float64 {
	out := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		t := 1.5 * math.Pi * (1 + 2*rng.Float64())
		s, c := math.Sincos(t)
		out[2*i] = (t*c + rng.NormFloat64()) / 5
		out[2*i+1] = (t*s + rng.NormFloat64()) / 5
	}
	return out
}

func sampleRings(rng *rand.Rand, n int) []float64 {
	q := n / 4
	counts := [4]int{q, q, q, n - 3*q}
	radii := [4]float64{1, 0.75, 0.5, 0.25}
	out := make([]float64, 0, 2*n)
	for k, m := range counts {
		for _, a := range linspace(0, 2*math.Pi, m, false) {
			s, c := math.Sincos(a)
			out = append(out, 3*radii[k]*c, 3*radii[k]*s)
		}
	}
	shuffleRows(rng, out)
	addNoise(rng, out, 0.08)
	return out
}

// MarshalText implements encoding.TextMarshaler, so configurations store a
// toy density by its conventional name.
func (t Toy) MarshalText() ([]byte, error) {
	if _, err := ParseToy(t.String()); err != nil {
		return nil, err
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Toy) UnmarshalText(b []byte) error {
	v, err := ParseToy(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
