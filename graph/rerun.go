package graph

import (
	"reflect"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Runner runs one machine's program again and again: Run is m.Reset()
// then m.RunAll(), except that a Gorgonia tape machine keeps its
// registers. Reset empties them, so every op of every run allocates (and
// zeroes) a fresh output while the previous run's outputs stay bound to
// their nodes until they are overwritten: a step allocated its whole tape
// anew, and a second run of a machine held up to two tapes. With the
// registers kept, an op finds in its output register the value the
// register's last writer left there, which an op that implements
// gorgonia.UsePreallocDoer overwrites in place when the shape fits
// (TestPreallocatedOutputsAreOverwritten checks that every such op of this
// package ignores what is there); input registers are reloaded from the
// nodes' values by the program itself.
//
// Registers that an Alloc instruction fills before its op writes them
// need more care. The op after an Alloc may add into what is there
// (gorgonia's sliceIncrOp, the derivative of slicing), so such a register
// starts the run empty, as after Reset — unless the op is a matrix product
// (gorgonia's linAlgBinOp: MatMul and MatVecMul call GEMM and GEMV with
// β = 0, Outer zeroes its output first), which overwrites it. A product's
// register is usually reused by later, smaller nodes, so what the run
// left there is not the product's; the Runner puts back the tensor that
// its own previous run bound to the product's node, so that the Alloc
// finds it and allocates nothing — unless another register holds that
// tensor too, whose writers would then share it. It remembers those
// tensors itself rather than reading the node's value at the next run:
// another machine compiled over the same graph may have bound its own
// tensor to the node since, and handing that one to this machine would
// make the two machines write into each other's outputs.
//
// A Runner is for one goroutine at a time, like the machine. Another VM,
// or a tape machine whose layout this gorgonia version does not have, is
// reset and run as before.
type Runner struct {
	m    G.VM
	regs *[]G.Value // the tape machine's registers; nil: reset and run
	prog program
	// kept[i] is the tensor this Runner's last run bound to the node of
	// prog.products[i]; nil before the first run and after a failed one.
	kept []*tensor.Dense
}

// NewRunner returns a Runner of m; the caller still owns m (Close).
func NewRunner(m G.VM) *Runner {
	r := &Runner{m: m}
	if regs := registers(m); regs != nil {
		if prog, ok := inspect(m); ok {
			r.regs, r.prog = regs, prog
			r.kept = make([]*tensor.Dense, len(prog.products))
		}
	}
	return r
}

// Close closes the machine.
func (r *Runner) Close() error { return r.m.Close() }

// Run runs the whole program again (see Runner).
func (r *Runner) Run() error {
	if r.regs == nil {
		r.m.Reset()
		return r.m.RunAll()
	}
	regs := r.regs
	// Reset clears the registers in place: save and restore them, all but
	// the accumulators'.
	saved := make([]G.Value, len(*regs))
	copy(saved, *regs)
	for _, reg := range r.prog.accumulators {
		if reg >= 0 && reg < len(saved) {
			saved[reg] = nil
		}
	}
	if len(r.prog.products) > 0 {
		held := make(map[uintptr]int, len(saved)) // tensor → registers holding it
		for _, v := range saved {
			if t, ok := v.(*tensor.Dense); ok && t.Size() > 0 {
				held[t.Uintptr()]++
			}
		}
		for i, p := range r.prog.products {
			t := r.kept[i]
			if t == nil || t.Size() == 0 || p.reg < 0 || p.reg >= len(saved) || held[t.Uintptr()] > 0 {
				continue
			}
			if cur, ok := saved[p.reg].(*tensor.Dense); ok && cur.Size() > 0 {
				held[cur.Uintptr()]--
			}
			saved[p.reg] = t
			held[t.Uintptr()]++
		}
	}
	r.m.Reset()
	copy(*regs, saved)
	clear(saved)
	err := r.m.RunAll()
	for i, p := range r.prog.products {
		r.kept[i] = nil
		if err != nil || r.prog.graph == nil {
			continue
		}
		if n, ok := r.prog.graph.Node(p.node).(*G.Node); ok && n != nil {
			r.kept[i], _ = n.Value().(*tensor.Dense)
		}
	}
	return err
}

// program is what a Runner needs to know of a tape machine's program.
type program struct {
	// accumulators are the registers that must start a run empty: those
	// an Alloc instruction fills for an op other than a matrix product,
	// and those a sliceIncrOp writes.
	accumulators []int
	// products are the Alloc registers whose op is a matrix product, with
	// the product's node.
	products []product
	graph    *G.ExprGraph // the program's graph, nil if not found
}

type product struct {
	reg  int
	node int64
}

// inspect reads m's program (see program). ok is false when m's layout
// is not the one this gorgonia version has.
func inspect(m G.VM) (prog program, ok bool) {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return prog, false
	}
	p := v.Elem().FieldByName("p")
	if !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() {
		return prog, false
	}
	if g := p.Elem().FieldByName("g"); g.IsValid() && g.Type() == reflect.TypeFor[*G.ExprGraph]() && !g.IsNil() {
		prog.graph = (*G.ExprGraph)(g.UnsafePointer())
	}
	ins := p.Elem().FieldByName("instructions")
	if !ins.IsValid() || ins.Kind() != reflect.Slice {
		return prog, false
	}
	writeTo := func(instr reflect.Value) (int, bool) {
		w := instr.FieldByName("writeTo")
		if !w.IsValid() || w.Kind() != reflect.Struct {
			return 0, false
		}
		id := w.FieldByName("id")
		if !id.IsValid() || !id.CanInt() {
			return 0, false
		}
		return int(id.Int()), true
	}
	pending := map[int]int64{} // Alloc registers whose op has not come yet → the Alloc's node
	for i := range ins.Len() {
		instr := ins.Index(i)
		if instr.Kind() == reflect.Interface {
			instr = instr.Elem()
		}
		if instr.Kind() == reflect.Pointer {
			instr = instr.Elem()
		}
		if instr.Kind() != reflect.Struct {
			return prog, false
		}
		switch instr.Type().Name() {
		case "alloc":
			r, ok := writeTo(instr)
			id := instr.FieldByName("id")
			if !ok || !id.IsValid() || !id.CanInt() {
				return prog, false
			}
			pending[r] = id.Int()
		case "execOp":
			op := instr.FieldByName("op")
			if !op.IsValid() || op.IsNil() {
				return prog, false
			}
			t := op.Elem().Type()
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			r, ok := writeTo(instr)
			if !ok {
				return prog, false
			}
			isGorgonia := t.PkgPath() == "gorgonia.org/gorgonia"
			if node, allocated := pending[r]; allocated {
				delete(pending, r)
				if isGorgonia && t.Name() == "linAlgBinOp" {
					prog.products = append(prog.products, product{r, node})
				} else {
					prog.accumulators = append(prog.accumulators, r)
				}
			}
			if isGorgonia && t.Name() == "sliceIncrOp" {
				prog.accumulators = append(prog.accumulators, r)
			}
		}
	}
	for r := range pending { // an Alloc without its op: as before, empty
		prog.accumulators = append(prog.accumulators, r)
	}
	return prog, true
}

// registers returns a pointer to the CPU registers of gorgonia's tape
// machine (its unexported field cpumem []Value), or nil when m is not
// one or its layout differs.
func registers(m G.VM) *[]G.Value {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	e := v.Elem()
	if e.Type().Name() != "tapeMachine" || e.Type().PkgPath() != "gorgonia.org/gorgonia" {
		return nil
	}
	f := e.FieldByName("cpumem")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]G.Value]() {
		return nil
	}
	return (*[]G.Value)(unsafe.Pointer(f.UnsafeAddr()))
}

// ValueBytes returns the bytes of the values of g's nodes, each counted
// once at its full size (views and outputs computed in place counted as
// copies, so it errs high). A tape machine keeps every node's output bound
// to the node between runs, so this is about the memory a compiled graph
// holds once it has run.
func ValueBytes(g *G.ExprGraph) int64 {
	var n int64
	for _, node := range g.AllNodes() {
		size := node.Shape().TotalSize()
		if size == 0 { // a scalar
			size = 1
		}
		n += int64(size) * int64(node.Dtype().Size())
	}
	return n
}
