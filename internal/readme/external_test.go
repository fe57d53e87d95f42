package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExternalModule does what the README tells a user of the library to
// do: a module of its own whose go.mod is the README's, with the replace
// directive pointing at this repository, and the README's main.go. It must
// build (go build -mod=mod adds the library's requirements, as go mod tidy
// would) and print what the README says it prints.
func TestExternalModule(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; this test builds a module that uses the library (install Go to run it)")
	}
	var gomod []string
	for _, f := range fences(t, filepath.Join(root, "README.md")) {
		if len(f.lines) > 0 && strings.HasPrefix(f.lines[0], "module example.com/myflow") {
			gomod = f.lines
		}
	}
	if gomod == nil {
		t.Fatal("the README has no go.mod block starting with \"module example.com/myflow\"")
	}
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(gomod, "\n") + "\n"
	if !strings.Contains(text, "=> ../iresnet") {
		t.Fatalf("the README's go.mod has no replace directive to ../iresnet:\n%s", text)
	}
	text = strings.Replace(text, "=> ../iresnet", "=> "+repo, 1)
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(externalMain)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(text), "go.sum": sum, "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "myflow")
	build := exec.Command(goTool, "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in a module of its own: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("running the program: %v\n%s", err, out)
	}
	for _, want := range []string{"log p(x) = -2.2522 (exact log-det)", "F⁻¹(F(x)) = [0.5000 -1.0000]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the program printed %q, not %q as the README says", out, want)
		}
	}
}
