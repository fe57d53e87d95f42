package checkpoint_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/trainer/checkpoint"
	"gorgonia.org/tensor"
)

func Example() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	f := checkpoint.File{
		Tensors: map[string]*tensor.Dense{
			"block0.w": tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4})),
			"block0.b": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0.5, -0.5})),
		},
		Metadata: map[string]string{},
	}
	if err := checkpoint.PutJSON(f.Metadata, "step", 100); err != nil {
		log.Fatal(err)
	}
	if err := checkpoint.Save(path, f); err != nil {
		log.Fatal(err)
	}

	g, err := checkpoint.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	var step int
	if err := checkpoint.GetJSON(g.Metadata, "step", &step); err != nil {
		log.Fatal(err)
	}
	w, b := g.Tensors["block0.w"], g.Tensors["block0.b"]
	fmt.Println("step:", step)
	fmt.Println("w:", w.Dtype(), w.Shape(), w.Data())
	fmt.Println("b:", b.Dtype(), b.Shape(), b.Data())
	// Output:
	// step: 100
	// w: float32 (2, 2) [1 2 3 4]
	// b: float64 (2) [0.5 -0.5]
}
