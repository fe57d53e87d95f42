package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer"
)

// copyFixture copies the v1.1 toy checkpoint of trainer/testdata into a new
// folder as its checkpoint.safetensors.
func copyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "trainer", "testdata", "v1", "toy.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, trainer.CheckpointFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConvertsARunFolder(t *testing.T) {
	dir := copyFixture(t)
	var out bytes.Buffer
	if err := run([]string{"-in", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "checkpoint.v2.safetensors")
	m, err := trainer.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if !strings.Contains(out.String(), "step 5") || !strings.Contains(out.String(), "mv ") {
		t.Errorf("output %q", out.String())
	}
	// The original stays as it was, and a second run does not overwrite.
	if _, err := trainer.Open(dir); err == nil {
		t.Error("the input was replaced")
	}
	if err := run([]string{"-in", dir}, &out, &out); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Errorf("second conversion: %v", err)
	}
	if err := run([]string{"-in", dir, "-force"}, &out, &out); err != nil {
		t.Errorf("-force: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := copyFixture(t)
	src := filepath.Join(dir, trainer.CheckpointFile)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-in is required"},
		{[]string{"-in", filepath.Join(dir, "nothing")}, "no such file"},
		{[]string{"-in", src, "-out", src}, "is the input"},
		{[]string{"-in", src, "extra"}, "unexpected arguments"},
	} {
		var out bytes.Buffer
		if err := run(c.args, &out, &out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
