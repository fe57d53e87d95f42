package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDOTHasOneClusterPerBlock draws a 3-block model and checks the DOT has
// exactly one top-level cluster per block, and that graphviz accepts it.
func TestDOTHasOneClusterPerBlock(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.dot")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-blocks", "3", "-hidden", "4", "-out", out, "-format", "none"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dot, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile(`subgraph "cluster_(block\d+)" \{`).FindAllStringSubmatch(string(dot), -1)
	var names []string
	for _, m := range blocks {
		names = append(names, m[1])
	}
	if strings.Join(names, ",") != "block0,block1,block2" {
		t.Errorf("block clusters %v, want block0, block1, block2", names)
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz dot not found; install it with: apt-get install graphviz")
	}
	for _, format := range []string{"svg", "png"} {
		if err := run([]string{"-blocks", "2", "-hidden", "4", "-out", out, "-format", format, "-view", "training"}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, stderr.String())
		}
		img, err := os.ReadFile(filepath.Join(dir, "m."+format))
		if err != nil || len(img) == 0 {
			t.Fatalf("no %s rendering: %v", format, err)
		}
	}
	cmd := exec.Command("dot", "-Tsvg", out)
	if b, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("dot -Tsvg rejected the output: %v\n%.300s", err, b)
	}
}

func TestFromCheckpointAndErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-checkpoint", "/nonexistent/x.safetensors"}, &stdout, &stderr); err == nil {
		t.Error("a missing checkpoint gave no error")
	}
	if err := run([]string{"-view", "sideways"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "unknown graph view") {
		t.Errorf("bad -view returned %v", err)
	}
	if err := run([]string{"-format", "gif"}, &stdout, &stderr); err == nil {
		t.Error("bad -format gave no error")
	}
}
