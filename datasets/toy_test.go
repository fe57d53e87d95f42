package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func newRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// sample draws n points of toy with a fresh seeded generator, failing the test
// on error.
func sample(t *testing.T, toy Toy, n int) []float64 {
	t.Helper()
	s, err := toy.Sample(newRNG(), n)
	if err != nil {
		t.Fatalf("%v.Sample(%d): %v", toy, n, err)
	}
	return s
}

// checkMean reports an error unless the sample mean of v is within 4
// standard errors (estimated from v itself) of want.
func checkMean(t *testing.T, what string, v []float64, want float64) {
	t.Helper()
	n := float64(len(v))
	var m, m2 float64
	for _, x := range v {
		m += x
	}
	m /= n
	for _, x := range v {
		m2 += (x - m) * (x - m)
	}
	se := math.Sqrt(m2 / (n - 1) / n)
	if math.Abs(m-want) > 4*se {
		t.Errorf("%s: mean %.5g, want %.5g ± %.2g (4 stderr)", what, m, want, 4*se)
	}
}

// checkCount reports an error unless count out of n is within 4 binomial
// standard errors of n·p.
func checkCount(t *testing.T, what string, count, n int, p float64) {
	t.Helper()
	want := float64(n) * p
	tol := 4 * math.Sqrt(float64(n)*p*(1-p))
	if math.Abs(float64(count)-want) > tol {
		t.Errorf("%s: count %d of %d, want %.1f ± %.1f", what, count, n, want, tol)
	}
}

// curveDistances returns, for each point of the row-major sample s, its
// distance to the nearest vertex of the densely sampled row-major polyline
// curve.
func curveDistances(s, curve []float64) []float64 {
	out := make([]float64, len(s)/2)
	for i := range out {
		x, y := s[2*i], s[2*i+1]
		d2 := math.Inf(1)
		for j := 0; j < len(curve); j += 2 {
			dx, dy := x-curve[j], y-curve[j+1]
			d2 = math.Min(d2, dx*dx+dy*dy)
		}
		out[i] = math.Sqrt(d2)
	}
	return out
}

// checkRMS reports an error unless the root mean square of d is within 5%
// of want.
func checkRMS(t *testing.T, what string, d []float64, want float64) {
	t.Helper()
	var ss float64
	for _, v := range d {
		ss += v * v
	}
	rms := math.Sqrt(ss / float64(len(d)))
	t.Logf("%s: RMS %.4f, want %.4f", what, rms, want)
	if math.Abs(rms/want-1) > 0.05 {
		t.Errorf("%s: RMS %.4f, want %.4f ± 5%%", what, rms, want)
	}
}

func col(s []float64, j int) []float64 {
	out := make([]float64, len(s)/2)
	for i := range out {
		out[i] = s[2*i+j]
	}
	return out
}

func TestNamesAndParse(t *testing.T) {
	want := []string{"8gaussians", "checkerboard", "2moons", "2spirals", "pinwheel", "circles", "swissroll", "rings"}
	toys := Toys()
	if len(toys) != len(want) {
		t.Fatalf("Toys() has %d entries, want %d", len(toys), len(want))
	}
	for i, toy := range toys {
		if toy != Toy(i) {
			t.Errorf("Toys()[%d] = %d", i, int(toy))
		}
		if got := toy.String(); got != want[i] {
			t.Errorf("Toy(%d).String() = %q, want %q", i, got, want[i])
		}
		back, err := ParseToy(toy.String())
		if err != nil || back != toy {
			t.Errorf("ParseToy(%q) = %v, %v; want %v", toy.String(), back, err, toy)
		}
	}
	toys[0] = Rings
	if Toys()[0] != EightGaussians {
		t.Error("Toys() shares its backing array between calls")
	}
	if got := Toy(99).String(); got != "Toy(99)" {
		t.Errorf("Toy(99).String() = %q", got)
	}
	for _, bad := range []string{"9gaussians", "", "8Gaussians", "moons"} {
		_, err := ParseToy(bad)
		if err == nil {
			t.Errorf("ParseToy(%q) succeeded", bad)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "datasets: ") {
			t.Errorf("ParseToy(%q) error %q lacks the package prefix", bad, msg)
		}
		for _, name := range want {
			if !strings.Contains(msg, `"`+name+`"`) {
				t.Errorf("ParseToy(%q) error %q does not list %q", bad, msg, name)
			}
		}
	}
}

func TestSampleErrors(t *testing.T) {
	for _, n := range []int{0, -3} {
		_, err := EightGaussians.Sample(newRNG(), n)
		if err == nil {
			t.Errorf("Sample(n=%d) succeeded", n)
		} else if msg := err.Error(); !strings.HasPrefix(msg, "datasets: ") || !strings.Contains(msg, "got "+strconv.Itoa(n)) {
			t.Errorf("Sample(n=%d) error %q does not name the value", n, msg)
		}
	}
	if _, err := Rings.Sample(nil, 5); err == nil {
		t.Error("Sample with nil rng succeeded")
	}
	if _, err := Toy(-1).Sample(newRNG(), 5); err == nil || !strings.Contains(err.Error(), "Toy(-1)") {
		t.Errorf("Toy(-1).Sample error = %v", err)
	}
}

func TestShapeFiniteAndDeterminism(t *testing.T) {
	for _, toy := range Toys() {
		t.Run(toy.String(), func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 4, 5, 7, 1000} {
				s := sample(t, toy, n)
				if len(s) != 2*n {
					t.Fatalf("n=%d: len %d, want %d", n, len(s), 2*n)
				}
				for i, v := range s {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("n=%d: s[%d] = %v", n, i, v)
					}
				}
			}
			a := sample(t, toy, 1000)
			b := sample(t, toy, 1000)
			if !slices.Equal(a, b) {
				t.Error("same seed gave different samples")
			}
			c, err := toy.Sample(rand.New(rand.NewPCG(2, 1)), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(a, c) {
				t.Error("different seeds gave identical samples")
			}
			// The same generator continues its stream: a second draw differs.
			rng := newRNG()
			d1, _ := toy.Sample(rng, 1000)
			d2, _ := toy.Sample(rng, 1000)
			if slices.Equal(d1, d2) {
				t.Error("consecutive draws from one generator are identical")
			}
		})
	}
}

func TestBoundingBoxes(t *testing.T) {
	// The boxes documented on the Toy constants: [-h, h]².
	boxes := map[Toy]float64{
		EightGaussians: 4.5,
		Checkerboard:   4,
		TwoMoons:       4,
		TwoSpirals:     4,
		Pinwheel:       5,
		Circles:        4.5,
		SwissRoll:      4,
		Rings:          3.5,
	}
	for _, toy := range Toys() {
		h, ok := boxes[toy]
		if !ok {
			t.Errorf("%v: no bounding box in test table", toy)
			continue
		}
		const n = 10000
		s := sample(t, toy, n)
		out := 0
		for i := 0; i < n; i++ {
			if math.Abs(s[2*i]) > h || math.Abs(s[2*i+1]) > h {
				out++
			}
		}
		if out > n/1000 {
			t.Errorf("%v: %d of %d points outside [-%g, %g]², want at most %d", toy, out, n, h, h, n/1000)
		}
	}
}

func TestEightGaussians(t *testing.T) {
	const n = 10000
	s := sample(t, EightGaussians, n)
	var counts [8]int
	var dev []float64 // coordinate deviations from the nearest center
	cs := eightCenters()
	for i := 0; i < n; i++ {
		x, y := s[2*i], s[2*i+1]
		best, bestD := 0, math.Inf(1)
		for k, c := range cs {
			dx, dy := x-EightGaussiansRadius*c[0], y-EightGaussiansRadius*c[1]
			if d := dx*dx + dy*dy; d < bestD {
				best, bestD = k, d
			}
		}
		counts[best]++
		c := cs[best]
		dev = append(dev, x-EightGaussiansRadius*c[0], y-EightGaussiansRadius*c[1])
	}
	for k, c := range counts {
		checkCount(t, fmt.Sprint("component ", k), c, n, 1.0/8)
	}
	checkMean(t, "deviation from nearest center", dev, 0)
	var ss float64
	for _, d := range dev {
		ss += d * d
	}
	std := math.Sqrt(ss / float64(len(dev)))
	t.Logf("std around nearest center %.5f (component std %.5f)", std, EightGaussiansStd)
	if math.Abs(std/EightGaussiansStd-1) > 0.02 {
		t.Errorf("std around nearest center %.4f, want %.4f ± 2%%", std, EightGaussiansStd)
	}
}

func TestEightGaussiansConstants(t *testing.T) {
	if math.Abs(EightGaussiansRadius-2.8289) > 1e-4 || math.Abs(EightGaussiansStd-0.35361) > 1e-5 {
		t.Errorf("radius %v, std %v", EightGaussiansRadius, EightGaussiansStd)
	}
	// Midpoint quadrature of p and −p log p on [-6, 6]².
	const h, L = 0.02, 6.0
	var z, ent float64
	for x := -L + h/2; x < L; x += h {
		for y := -L + h/2; y < L; y += h {
			lp := EightGaussiansLogDensity(x, y)
			p := math.Exp(lp)
			z += p * h * h
			ent -= p * lp * h * h
		}
	}
	if math.Abs(z-1) > 1e-8 {
		t.Errorf("density integrates to %.10f", z)
	}
	if math.Abs(ent-EightGaussiansEntropy) > 1e-8 {
		t.Errorf("quadrature entropy %.10f, constant %.10f", ent, EightGaussiansEntropy)
	}
	// Far away the log density is finite and very negative.
	if lp := EightGaussiansLogDensity(100, -100); math.IsInf(lp, 0) || lp > -1e4 {
		t.Errorf("log density at (100, -100) = %v", lp)
	}
	// At a center it is close to the single-component peak.
	peak := -math.Log(8) - math.Log(2*math.Pi*EightGaussiansStd*EightGaussiansStd)
	if lp := EightGaussiansLogDensity(0, EightGaussiansRadius); math.Abs(lp-peak) > 1e-3 {
		t.Errorf("log density at a center = %v, want ≈ %v", lp, peak)
	}
}

func TestEightGaussiansMonteCarloEntropy(t *testing.T) {
	const n = 200000
	s := sample(t, EightGaussians, n)
	nll := make([]float64, n)
	var mean float64
	for i := range nll {
		nll[i] = -EightGaussiansLogDensity(s[2*i], s[2*i+1])
		mean += nll[i]
	}
	mean /= n
	t.Logf("Monte Carlo −E[log p] over %d samples: %.5f (quadrature %.5f)", n, mean, EightGaussiansEntropy)
	if math.Abs(mean-2.84) > 0.02 {
		t.Errorf("Monte Carlo entropy %.5f, want 2.84 ± 0.02", mean)
	}
	checkMean(t, "−log p", nll, EightGaussiansEntropy)
}

func TestCheckerboard(t *testing.T) {
	const n = 10000
	s := sample(t, Checkerboard, n)
	counts := map[[2]int]int{}
	for i := 0; i < n; i++ {
		x, y := s[2*i], s[2*i+1]
		if lp := CheckerboardLogDensity(x, y); lp != -math.Log(32) {
			t.Fatalf("point (%v, %v) off the black squares (log density %v)", x, y, lp)
		}
		counts[[2]int{int(math.Floor(x / 2)), int(math.Floor(y / 2))}]++
	}
	if len(counts) != 8 {
		t.Errorf("points fell in %d squares, want 8: %v", len(counts), counts)
	}
	for sq, c := range counts {
		if (sq[0]+sq[1])%2 != 0 {
			t.Errorf("square %v is white", sq)
		}
		checkCount(t, "square", c, n, 1.0/8)
	}
	checkMean(t, "x", col(s, 0), 0)
	checkMean(t, "y", col(s, 1), 0)

	for _, tc := range []struct {
		x, y float64
		in   bool
	}{
		{-4, -4, true}, {-3, -1, false}, {-1, -3, false}, {0.5, 0.5, true},
		{2.5, 0.5, false}, {3.9, 3.9, true}, {4, 3, false}, {-4.1, -3, false},
		{-1, 1, false}, {1, -1, false}, {1, 1, true}, {-1, -1, true}, {-1, 3, true},
	} {
		lp := CheckerboardLogDensity(tc.x, tc.y)
		if tc.in && lp != -math.Log(32) || !tc.in && !math.IsInf(lp, -1) {
			t.Errorf("CheckerboardLogDensity(%v, %v) = %v, in support: %v", tc.x, tc.y, lp, tc.in)
		}
	}
	// The density integrates to 1 (the midpoint grid aligns with the squares).
	var z float64
	const h = 0.1
	for x := -5 + h/2; x < 5; x += h {
		for y := -5 + h/2; y < 5; y += h {
			z += math.Exp(CheckerboardLogDensity(x, y)) * h * h
		}
	}
	if math.Abs(z-1) > 1e-9 {
		t.Errorf("checkerboard density integrates to %v", z)
	}
}

// checkRings classifies each point of s by the nearest of radii and checks
// the class fractions, the mean radius and the radial spread of each class.
func checkRings(t *testing.T, s []float64, radii, frac []float64, noise float64) {
	t.Helper()
	n := len(s) / 2
	byRing := make([][]float64, len(radii))
	for i := 0; i < n; i++ {
		r := math.Hypot(s[2*i], s[2*i+1])
		best := 0
		for k := range radii {
			if math.Abs(r-radii[k]) < math.Abs(r-radii[best]) {
				best = k
			}
		}
		byRing[best] = append(byRing[best], r)
	}
	for k, rs := range byRing {
		checkCount(t, fmt.Sprint("ring of radius ", radii[k]), len(rs), n, frac[k])
		var m, m2 float64
		for _, r := range rs {
			m += r
		}
		m /= float64(len(rs))
		for _, r := range rs {
			m2 += (r - m) * (r - m)
		}
		sd := math.Sqrt(m2 / float64(len(rs)-1))
		// The mean radius is biased up by about noise²/(2r).
		if math.Abs(m-radii[k]) > 0.01+noise*noise/radii[k] {
			t.Errorf("ring %g: mean radius %.4f", radii[k], m)
		}
		if math.Abs(sd/noise-1) > 0.1 {
			t.Errorf("ring %g: radial std %.4f, want %.4f ± 10%%", radii[k], sd, noise)
		}
	}
}

func TestCircles(t *testing.T) {
	s := sample(t, Circles, 10000)
	checkRings(t, s, []float64{3, 1.5}, []float64{0.5, 0.5}, 0.24)
	checkMean(t, "x", col(s, 0), 0)
	checkMean(t, "y", col(s, 1), 0)
}

func TestRings(t *testing.T) {
	s := sample(t, Rings, 10000)
	checkRings(t, s, []float64{3, 2.25, 1.5, 0.75}, []float64{0.25, 0.25, 0.25, 0.25}, 0.08)
}

func TestTwoMoons(t *testing.T) {
	const n = 10000
	s := sample(t, TwoMoons, n)
	// Before scaling the mean is (0.5, 0.25) and E[x²] = (1/2 + 3/2)/2 + 0.1².
	x, y := col(s, 0), col(s, 1)
	checkMean(t, "x", x, 0)
	checkMean(t, "y", y, 0.3)
	x2 := make([]float64, n)
	for i, v := range x {
		x2[i] = v * v
	}
	checkMean(t, "x²", x2, 4*(1+0.01)-4*0.5+1)
	// Points with scaled y > 1.4 (raw y > 0.8, three noise standard
	// deviations above the lower moon) are on the upper moon, which is
	// symmetric about scaled x = −1.
	var upper []float64
	for i := range x {
		if y[i] > 1.4 {
			upper = append(upper, x[i])
		}
	}
	if len(upper) < n/10 {
		t.Fatalf("only %d points on the top of the upper moon", len(upper))
	}
	checkMean(t, "x on the upper moon", upper, -1)
	// Distance to the noise-free half circles: their radius is 2 after
	// scaling, much larger than the noise, so the distance is close to the
	// normal component of the N(0, 0.2²) scaled noise.
	const m = 2000
	curve := make([]float64, 0, 4*(m+1))
	for i := 0; i <= m; i++ {
		sn, cs := math.Sincos(math.Pi * float64(i) / m)
		curve = append(curve, 2*cs-1, 2*sn-0.2, 2*(1-cs)-1, 2*(0.5-sn)-0.2)
	}
	checkRMS(t, "distance to the moons", curveDistances(s, curve), 0.2)
}

func TestTwoSpirals(t *testing.T) {
	const n = 10000
	s := sample(t, TwoSpirals, n)
	// The density is symmetric under p ↦ −p.
	checkMean(t, "x", col(s, 0), 0)
	checkMean(t, "y", col(s, 1), 0)
	// E|p|² = (9π²/2 + 2/(3π) + (9π²−4)/(9π²) + 1/6)/9 + 2·0.1², from
	// r = 3π√u: E r² = 9π²/2, E[r cos r] = −4/(3π), E[r sin r] = 2(9π²−4)/(9π²).
	pi2 := math.Pi * math.Pi
	want := (9*pi2/2+2/(3*math.Pi)+(9*pi2-4)/(9*pi2)+1.0/6)/9 + 2*0.01
	sq := make([]float64, n)
	for i := range sq {
		sq[i] = s[2*i]*s[2*i] + s[2*i+1]*s[2*i+1]
	}
	checkMean(t, "|p|²", sq, want)
	// Nearly every point lies close to one of the two curves
	// ±(−r cos r, r sin r)/3; the offset and noise move it by about 0.2.
	const m = 2000
	curve := make([]float64, 0, 4*m)
	for i := 0; i <= m; i++ {
		r := 3 * math.Pi * float64(i) / m
		x, y := -r*math.Cos(r)/3, r*math.Sin(r)/3
		curve = append(curve, x, y, -x, -y)
	}
	near := 0
	for _, d := range curveDistances(s, curve) {
		if d < 0.5 {
			near++
		}
	}
	t.Logf("%d of %d points within 0.5 of the spirals", near, n)
	if near < n*99/100 {
		t.Errorf("only %d of %d points within 0.5 of the spirals", near, n)
	}
}

func TestPinwheel(t *testing.T) {
	const n = 10000
	s := sample(t, Pinwheel, n)
	checkMean(t, "x", col(s, 0), 0)
	checkMean(t, "y", col(s, 1), 0)
	sq := make([]float64, n)
	for i := range sq {
		sq[i] = s[2*i]*s[2*i] + s[2*i+1]*s[2*i+1]
	}
	checkMean(t, "|p|²", sq, 4*(1+0.3*0.3+0.1*0.1))
	// Arm k follows polar angle −2πk/5 − 0.25·exp(f0) at radius ≈ 2·f0, so
	// adding 0.25·exp(|p|/2) to the angle should land within the tangential
	// spread of a multiple of 2π/5 for almost every point.
	near := 0
	for i := 0; i < n; i++ {
		x, y := s[2*i], s[2*i+1]
		a := math.Atan2(y, x) + 0.25*math.Exp(math.Hypot(x, y)/2)
		const w = 2 * math.Pi / 5
		res := a - w*math.Round(a/w)
		if math.Abs(res) < 0.3 {
			near++
		}
	}
	t.Logf("%d of %d points within 0.3 rad of an arm", near, n)
	if near < n*95/100 {
		t.Errorf("only %d of %d points within 0.3 rad of an arm", near, n)
	}
}

func TestSwissRoll(t *testing.T) {
	s := sample(t, SwissRoll, 10000)
	// t uniform on [1.5π, 4.5π]: E[t cos t] = 2, E[t sin t] = 2/(3π).
	checkMean(t, "x", col(s, 0), 2.0/5)
	checkMean(t, "y", col(s, 1), 2/(3*math.Pi)/5)
	// E|p|² = (E t² + 2)/25 with E t² = (a² + ab + b²)/3 = 9.75π².
	sq := make([]float64, len(s)/2)
	for i := range sq {
		sq[i] = s[2*i]*s[2*i] + s[2*i+1]*s[2*i+1]
	}
	checkMean(t, "|p|²", sq, (9.75*math.Pi*math.Pi+2)/25)
	// Distance to the noise-free roll (t cos t, t sin t)/5: the normal
	// component of the N(0, 0.2²) scaled noise, except a little more past
	// the two ends.
	const m = 2000
	curve := make([]float64, 0, 2*(m+1))
	for i := 0; i <= m; i++ {
		tt := 1.5 * math.Pi * (1 + 2*float64(i)/m)
		sn, cs := math.Sincos(tt)
		curve = append(curve, tt*cs/5, tt*sn/5)
	}
	checkRMS(t, "distance to the roll", curveDistances(s, curve), 0.2)
}
