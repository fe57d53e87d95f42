// Command sample draws from a trained model and reconstructs held-out test
// images through the model's inverse.
//
// Usage:
//
//	go run ./cmd/sample -checkpoint runs/mnist
//	go run ./cmd/sample -checkpoint runs/mnist/checkpoint.safetensors -n 100 -temperature 0.7 -out pics
//	go run ./cmd/sample -checkpoint runs/8gaussians -n 5000 -temperature 0.8
//
// For an image model it writes samples.png (samples_T<T>.png at a
// temperature T ≠ 1), a captioned grid, and reconstructions.png (test
// images in the top rows, F⁻¹(F(x)) below, captioned with the inverse's
// iterations and error), and prints the fixed-point iterations the inverse
// needed per residual block and the largest reconstruction error. For a
// 2-D toy model it writes samples.png (a titled scatter plot with axes) and
// samples.csv (the points, one "x1,x2" line each), _T<T> again marking a
// temperature ≠ 1; the image-only flags (-recon, -compare, -cols, -scale)
// are refused there rather than ignored. Files go to the folder "sample" inside the run folder
// unless -out says otherwise, so the pictures cmd/train wrote are never
// overwritten. Sampling is deterministic given the checkpoint: the same
// checkpoint, -n and -temperature give the same output. When an inverse
// does not converge, the command names the block, writes nothing and exits
// with status 1. Run with -help for every flag.
package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/internal/figure"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/pictures"
	"github.com/pkg/errors"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sample:", err)
		os.Exit(1)
	}
}

// reconFile is the name of the reconstruction grid.
const reconFile = "reconstructions.png"

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sample -checkpoint RUN [flags]\n\nDraws samples from a trained model through its fixed-point inverse.\nImage models (cmd/train -data mnist): writes samples.png (samples_T<T>.png at a\ntemperature T ≠ 1) and %s (test images and their reconstructions),\nboth captioned, and prints the inverse's iterations per residual block and the\nlargest reconstruction error. 2-D toy models (cmd/train -data 8gaussians):\nwrites samples.png, a scatter plot, and samples.csv, the points (x1,x2).\nOutput goes to RUN/sample unless -out is given, so cmd/train's pictures are\nnever overwritten. Sampling is deterministic given the checkpoint. A\nnon-converging inverse is an error naming the block; nothing is written then.\n\nFlags:\n", reconFile)
		fs.PrintDefaults()
	}
	ckpt := fs.String("checkpoint", "", "checkpoint file, or a run folder holding "+trainer.CheckpointFile+" (required)")
	out := fs.String("out", "", "output folder, created if missing (default: the folder \""+defaultOutDir+"\" inside the run folder)")
	n := fs.Int("n", 64, "number of samples (0: no samples.png); toy models: 2000 unless given")
	temp := fs.Float64("temperature", 1, "sampling temperature T > 0: latents z ~ N(0, T²I); T < 1 gives smoother, more typical images")
	recon := fs.Int("recon", 16, "number of test images to reconstruct (0: no "+reconFile+"; at most the model's held-out set)")
	cols := fs.Int("cols", 8, "images per row of the grids")
	scale := fs.Int("scale", 2, "each image pixel is drawn as a scale×scale block")
	var limits trainer.Limits
	fs.Var(&limits, "limit", trainer.LimitsUsage)
	compare := fs.String("compare", "", "a second checkpoint (file or run folder), e.g. the same network trained with cmd/train -vanilla: its reconstructions of the same test images go below this model's in "+compareFile+"; its inverse may fail, which is reported, not hidden")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	given := map[string]bool{} // flags set on the command line
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case *ckpt == "":
		return errors.New("-checkpoint is required: a checkpoint file or a run folder written by cmd/train")
	case *n < 0 || *n > limits.WithDefaults().Batch:
		return errors.Errorf("-n %d: must lie in [0, %d] (more needs -limit batch=N)", *n, limits.WithDefaults().Batch)
	case *recon < 0 || *recon > limits.WithDefaults().Batch:
		return errors.Errorf("-recon %d: must lie in [0, %d] (more needs -limit batch=N)", *recon, limits.WithDefaults().Batch)
	case *n == 0 && *recon == 0:
		return errors.New("-n 0 and -recon 0: nothing to do")
	case !(*temp > 0) || math.IsInf(*temp, 0):
		return errors.Errorf("-temperature %v: must be a finite number > 0", *temp)
	case *cols < 1:
		return errors.Errorf("-cols %d: must be ≥ 1", *cols)
	case *scale < 1:
		return errors.Errorf("-scale %d: must be ≥ 1", *scale)
	}
	path, dir, err := checkpointPath(*ckpt)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(dir, defaultOutDir)
	}
	t, err := trainer.Open(path, trainer.WithLimits(limits))
	if err != nil {
		return err
	}
	defer t.Close()
	cfg := t.Config()
	if !cfg.Data.Quantized() {
		for _, name := range []string{"recon", "compare", "cols", "scale"} {
			if given[name] {
				return errors.Errorf("-%s is for image models; %s is a toy model, drawn as a scatter plot", name, path)
			}
		}
		if !given["n"] {
			*n = defaultToySamples
		}
		if *n == 0 {
			return errors.New("-n 0 on a toy model: nothing to do (it has no test images to reconstruct)")
		}
		return toySamples(t, path, *out, *n, *temp, stdout)
	}
	sh := t.InputShape()
	fmt.Fprintf(stdout, "checkpoint %s: step %d, %d×%d×%d images\n", path, t.Steps(), sh[0], sh[1], sh[2])
	if cfg.Objective.Task == trainer.Classify && given["temperature"] {
		return errors.Errorf("-temperature sets the spread of sampled latents, and %s is a classifier: it has no samples to draw, and its reconstructions use no temperature", path)
	}
	if cfg.Objective.Task == trainer.Classify && *n > 0 {
		if given["n"] {
			return errors.Errorf("%s is a classifier: its prior was never trained, so it has no samples to draw; use -n 0 (reconstructions only) or a density or hybrid model", path)
		}
		fmt.Fprintln(stdout, "classifier: no density to sample from, writing reconstructions only")
		*n = 0
		if *recon == 0 {
			return errors.New("a classifier with -recon 0: nothing to do")
		}
	}

	// Compute everything before writing anything, so that a failing inverse
	// leaves no picture behind.
	var samples, grid image.Image
	if *n > 0 {
		b, err := t.SampleImages(*n, *temp)
		if err != nil {
			return errors.Wrapf(err, "sampling %d images at temperature %g", *n, *temp)
		}
		if samples, err = pictures.SampleGrid(b, pictures.SamplesCaption(b.N, *temp, t.Steps()), *cols, *scale); err != nil {
			return errors.Wrap(err, "samples")
		}
	}
	var r trainer.Reconstruction
	var held datasets.HeldOut
	if *recon > 0 {
		if held, err = t.HeldOut(*recon); err != nil {
			return err
		}
		if r, err = t.Reconstruct(held.Points); err != nil {
			return errors.Wrapf(err, "reconstructing %d test images", *recon)
		}
		if grid, err = pictures.CaptionedReconstructions(r, *cols, *scale, ""); err != nil {
			return err
		}
	}

	var cmp *comparison
	if *compare != "" {
		if *recon == 0 {
			return errors.New("-compare needs -recon > 0: it compares reconstructions of the same test images")
		}
		if cmp, err = compareWith(*compare, t, held.Points, r, *cols, *scale); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return errors.Wrap(err, "creating the output folder")
	}
	if samples != nil {
		p := filepath.Join(*out, samplesFile(*temp))
		if err := heatmap.SavePNG(p, samples); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "samples: %d at temperature %g → %s\n", *n, *temp, p)
	}
	if grid != nil {
		p := filepath.Join(*out, reconFile)
		if err := heatmap.SavePNG(p, grid); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reconstructions: %d test images (top) and F⁻¹(F(x)) (below) → %s\n", r.Original.N, p)
		it := r.Iterations()
		fmt.Fprintf(stdout, "inverse: fixed-point iterations per block min %d, mean %.1f, max %d (%s) over %d blocks; largest final step %.3g\n",
			it.Min, it.Mean, it.Max, it.MaxBlock, it.Blocks, it.Residual)
		space := "input space"
		if cfg.Data.LogitAlpha > 0 {
			space = "input (logit) space"
		}
		fmt.Fprintf(stdout, "max reconstruction error: %.3g in the model's %s, %.3g in pixels (intensities in [0, 1])\n",
			r.MaxAbsErr, space, r.MaxPixelError())
	}
	if cmp != nil {
		p := filepath.Join(*out, compareFile)
		if err := heatmap.SavePNG(p, cmp.img); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "comparison with %s (%s): %s → %s\n", cmp.path, cmp.label, cmp.verdict, p)
	}
	return nil
}

// compareFile is the name of the side-by-side reconstruction picture.
const compareFile = "reconstructions_compare.png"

// comparison is the reconstruction picture of two models on the same test
// images, and what became of the second model's inverse.
type comparison struct {
	path, label, verdict string
	img                  image.Image
}

// compareWith reconstructs the test images of r with the model in the
// checkpoint at other, leniently, and stacks three captioned grids: the
// test images, the first model's reconstructions and the other's.
func compareWith(other string, first *trainer.Trained, images []float64, r trainer.Reconstruction, cols, scale int) (*comparison, error) {
	path, err := trainer.CheckpointPath(other)
	if err != nil {
		return nil, errors.Wrap(err, "-compare")
	}
	t2, err := trainer.Open(path, trainer.WithLimits(first.Limits()))
	if err != nil {
		return nil, errors.Wrap(err, "-compare")
	}
	defer t2.Close()
	c1, c2 := first.Config(), t2.Config()
	if d1, d2 := c1.Data, c2.Data; d2.Name != d1.Name || d2.Pad != d1.Pad || d2.LogitAlpha != d1.LogitAlpha || !d2.Quantized() {
		return nil, errors.Errorf("-compare %s: not an image model on the same data and preprocessing as the first checkpoint", path)
	}
	if !slices.Equal(t2.InputShape(), first.InputShape()) {
		return nil, errors.Errorf("-compare %s: its model takes %v, the first %v", path, t2.InputShape(), first.InputShape())
	}
	r2, err := t2.ReconstructLenient(images)
	var failed *blocks.FailedBlocksError
	verdict := fmt.Sprintf("inverse converged, max error %.2g (%.2g in pixels)", r2.MaxAbsErr, r2.MaxPixelError())
	switch {
	case errors.As(err, &failed):
		verdict = fmt.Sprintf("inverse did NOT converge in %d of %d residual blocks (first: %s, residual %.3g after %d iterations); max pixel error %.2g: not an inverse",
			len(failed.Blocks), len(r2.Stats), failed.Blocks[0], failed.Errs[0].Residual, failed.Errs[0].Iter, r2.MaxPixelError())
	case err != nil && r2.Reconstructed.N == 0:
		verdict = fmt.Sprintf("inverse blew up to Inf or NaN, nothing to show (%v)", err)
	case err != nil:
		return nil, errors.Wrapf(err, "-compare %s: reconstructing", path)
	}
	orig, err := heatmap.ImageGrid(r.Original.Pixels, r.Original.N, r.Original.C, r.Original.H, r.Original.W, cols, scale)
	if err != nil {
		return nil, err
	}
	rows := []image.Image{heatmap.Captioned(orig, "test images")}
	for _, m := range []struct {
		t *trainer.Trained
		r trainer.Reconstruction
		v string
	}{
		{first, r, fmt.Sprintf("inverse converged, max error %.2g", r.MaxAbsErr)},
		{t2, r2, verdict},
	} {
		label := modelLabel(m.t)
		if m.r.Reconstructed.N == 0 {
			rows = append(rows, heatmap.Captioned(image.NewRGBA(image.Rect(0, 0, 1, 1)), label+": "+m.v))
			continue
		}
		g, err := heatmap.ImageGrid(m.r.Reconstructed.Pixels, m.r.Reconstructed.N, m.r.Reconstructed.C, m.r.Reconstructed.H, m.r.Reconstructed.W, cols, scale)
		if err != nil {
			return nil, err
		}
		short, _, _ := strings.Cut(m.v, " (") // the details are printed, not drawn
		rows = append(rows, heatmap.Captioned(g, label+" F^-1(F(x)):", short))
	}
	return &comparison{path: path, label: modelLabel(t2), verdict: verdict, img: heatmap.Stacked(rows...)}, nil
}

// modelLabel names a model for a caption: vanilla or i-ResNet with its c.
func modelLabel(t *trainer.Trained) string {
	m := t.Config().Model
	l := m.Lipschitz()
	switch {
	case !m.IResNet():
		return "model"
	case l.Unconstrained:
		return "vanilla ResNet (no spectral norm)"
	}
	return fmt.Sprintf("i-ResNet (c = %g)", l.Coeff)
}

// samplesFile is the name of the sample grid at temperature temp:
// samples.png at 1, samples_T0.7.png at 0.7.
func samplesFile(temp float64) string { return samplesName(temp, ".png") }

// samplesName is the name of a samples file with the given extension:
// samples.EXT at temperature 1, samples_T0.7.EXT at 0.7.
func samplesName(temp float64, ext string) string {
	if temp == 1 {
		return "samples" + ext
	}
	return "samples_T" + strconv.FormatFloat(temp, 'g', -1, 64) + ext
}

// defaultOutDir is the folder, inside the run folder, that output goes to
// when -out is not given: apart from cmd/train's pictures, which it must
// not overwrite.
const defaultOutDir = "sample"

// defaultToySamples is the number of points drawn from a toy model when
// -n is not given.
const defaultToySamples = 2000

// toyBounds is the region of the toy scatter plot, the training pictures'.
var toyBounds = heatmap.Rect{XMin: -4, XMax: 4, YMin: -4, YMax: 4}

// toySamples draws n points from the 2-D toy model t at the given
// temperature and writes them to out as a scatter plot and a CSV file.
func toySamples(t *trainer.Trained, path, out string, n int, temp float64, stdout io.Writer) error {
	cfg := t.Config()
	d := t.InputShape()[0]
	fmt.Fprintf(stdout, "checkpoint %s: step %d, %d-D toy density model of %v\n", path, t.Steps(), d, cfg.Data.Name)
	if d != 2 {
		return errors.Errorf("%s: a %d-D toy model; only 2-D models can be drawn", path, d)
	}
	pts, err := t.Sample(n, temp)
	if err != nil {
		return errors.Wrapf(err, "sampling %d points at temperature %g", n, temp)
	}
	inside := 0
	for i := 0; i < len(pts); i += 2 {
		if pts[i] >= toyBounds.XMin && pts[i] <= toyBounds.XMax && pts[i+1] >= toyBounds.YMin && pts[i+1] <= toyBounds.YMax {
			inside++
		}
	}
	title := fmt.Sprintf("%d samples of the %v model at temperature %g, step %d", n, cfg.Data.Name, temp, t.Steps())
	if inside < n {
		title += fmt.Sprintf(" (%d outside the plot)", n-inside)
	}
	p, err := figure.Scatter(title, pts, toyBounds)
	if err != nil {
		return errors.Wrap(err, "scatter plot")
	}
	img, err := figure.Render(480, figure.Panel{Plot: p, Width: 520})
	if err != nil {
		return errors.Wrap(err, "scatter plot")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return errors.Wrap(err, "creating the output folder")
	}
	png := filepath.Join(out, samplesName(temp, ".png"))
	if err := heatmap.SavePNG(png, img); err != nil {
		return err
	}
	csv := filepath.Join(out, samplesName(temp, ".csv"))
	if err := writeCSV(csv, pts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "samples: %d at temperature %g → %s (scatter plot), %s (x1,x2 per line)\n", n, temp, png, csv)
	return nil
}

// writeCSV writes 2-D points (row-major n×2) to path as a header line
// "x1,x2" and one line per point, atomically (a temporary file renamed
// over path).
func writeCSV(path string, pts []float64) error {
	var b strings.Builder
	b.WriteString("x1,x2\n")
	for i := 0; i+1 < len(pts); i += 2 {
		b.WriteString(strconv.FormatFloat(pts[i], 'g', 9, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(pts[i+1], 'g', 9, 64))
		b.WriteByte('\n')
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return errors.Wrapf(err, "writing %s", path)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "writing %s", path)
	}
	return nil
}

// checkpointPath resolves -checkpoint to the checkpoint file and the
// folder outputs go to by default.
func checkpointPath(p string) (path, dir string, err error) {
	if path, err = trainer.CheckpointPath(p); err != nil {
		return "", "", err
	}
	return path, filepath.Dir(path), nil
}
