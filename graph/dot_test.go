package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const noGraphviz = "graphviz dot not found; install it with: apt-get install graphviz"

// dotTestGraph builds
//
//	x → block0{ w; x·w → fc1{ w; ·w; tanh } } → block1{ w; ·w; tanh; probe{ v; ⊙v } } → sum
//
// and returns the builder and the final (top-level) node.
func dotTestGraph(t *testing.T) (*Builder, *G.Node) {
	t.Helper()
	b, err := NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	mat := func(r, c int) *tensor.Dense { return tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(r, c)) }
	x, err := b.Input("x", mat(2, 3))
	if err != nil {
		t.Fatal(err)
	}
	h := x
	err = b.Scoped("block0", func() error {
		w, err := b.Param("w", mat(3, 3))
		if err != nil {
			return err
		}
		if h, err = G.Mul(h, w); err != nil {
			return err
		}
		return b.Scoped("fc1", func() error {
			w, err := b.Param("w", mat(3, 3))
			if err != nil {
				return err
			}
			if h, err = G.Mul(h, w); err != nil {
				return err
			}
			h, err = G.Tanh(h)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Scoped("block1", func() error {
		w, err := b.Param("w", mat(3, 3))
		if err != nil {
			return err
		}
		if h, err = G.Mul(h, w); err != nil {
			return err
		}
		if h, err = G.Tanh(h); err != nil {
			return err
		}
		return b.Scoped("probe", func() error {
			v, err := b.NewNoise("v", Rademacher, 2, 3)
			if err != nil {
				return err
			}
			h, err = G.HadamardProd(h, v)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := G.Sum(h)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

// parsedDOT is the structure of a DOT file as written by WriteDOT.
type parsedDOT struct {
	graphAttrs map[string]string
	clusters   map[string]*parsedCluster // by subgraph name, decoded by labelText
	order      []string                  // cluster names in order of appearance
	nodes      map[string]*parsedNode    // by node ID
	nodeCount  map[string]int            // node statements per ID
	nodeOrder  []string
	edges      []parsedEdge
}

type parsedCluster struct {
	name, parent string // parent "" for top level
	attrs        map[string]string
}

type parsedNode struct {
	cluster string // innermost cluster name, "" for top level
	attrs   map[string]string
}

type parsedEdge struct {
	from, to string
	attrs    map[string]string
}

// dotToken is one token of DOT text; quoted strings are unescaped the way
// graphviz's lexer does it (only \" is replaced).
type dotToken struct {
	text   string
	quoted bool
}

func tokenizeDOT(src string) ([]dotToken, error) {
	var toks []dotToken
	rs := []rune(src)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i++
		case r == '"':
			var sb strings.Builder
			i++
			for {
				if i >= len(rs) {
					return nil, errors.New("unterminated string")
				}
				if rs[i] == '"' {
					i++
					break
				}
				if rs[i] == '\n' {
					return nil, errors.New("raw newline in string")
				}
				if rs[i] == '\\' && i+1 < len(rs) && rs[i+1] == '"' {
					sb.WriteRune('"')
					i += 2
					continue
				}
				if rs[i] == '\\' && i+1 < len(rs) {
					sb.WriteRune(rs[i])
					sb.WriteRune(rs[i+1])
					i += 2
					continue
				}
				sb.WriteRune(rs[i])
				i++
			}
			toks = append(toks, dotToken{sb.String(), true})
		case r == '-' && i+1 < len(rs) && rs[i+1] == '>':
			toks = append(toks, dotToken{"->", false})
			i += 2
		case strings.ContainsRune("{}[]=;,", r):
			toks = append(toks, dotToken{string(r), false})
			i++
		case r == '_' || r == '.' || r == '#' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'):
			j := i
			for j < len(rs) && (rs[j] == '_' || rs[j] == '.' || ('a' <= rs[j] && rs[j] <= 'z') || ('A' <= rs[j] && rs[j] <= 'Z') || ('0' <= rs[j] && rs[j] <= '9')) {
				j++
			}
			if j == i {
				return nil, errors.Errorf("bad character %q", r)
			}
			toks = append(toks, dotToken{string(rs[i:j]), false})
			i = j
		default:
			return nil, errors.Errorf("unexpected character %q", r)
		}
	}
	return toks, nil
}

// labelText decodes the escapes graphviz applies to label text.
func labelText(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				sb.WriteByte('\n')
			default:
				sb.WriteByte(s[i])
			}
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// parseDOT parses the subset of DOT that WriteDOT writes.
func parseDOT(src string) (*parsedDOT, error) {
	toks, err := tokenizeDOT(src)
	if err != nil {
		return nil, err
	}
	p := &parsedDOT{
		graphAttrs: map[string]string{},
		clusters:   map[string]*parsedCluster{},
		nodes:      map[string]*parsedNode{},
		nodeCount:  map[string]int{},
	}
	pos := 0
	peek := func() dotToken {
		if pos < len(toks) {
			return toks[pos]
		}
		return dotToken{}
	}
	next := func() dotToken { t := peek(); pos++; return t }
	expect := func(s string) error {
		if t := next(); t.text != s || t.quoted {
			return errors.Errorf("token %d: want %q, got %q", pos-1, s, t.text)
		}
		return nil
	}
	attrList := func() (map[string]string, error) {
		attrs := map[string]string{}
		if peek().text != "[" || peek().quoted {
			return attrs, nil
		}
		next()
		for !(peek().text == "]" && !peek().quoted) {
			k := next()
			if err := expect("="); err != nil {
				return nil, err
			}
			attrs[k.text] = next().text
			if peek().text == "," && !peek().quoted {
				next()
			}
			if pos >= len(toks) {
				return nil, errors.New("unterminated attribute list")
			}
		}
		next()
		return attrs, nil
	}

	if err := expect("digraph"); err != nil {
		return nil, err
	}
	if err := expect("{"); err != nil {
		return nil, err
	}
	stack := []string{""}
	for len(stack) > 0 {
		if pos >= len(toks) {
			return nil, errors.New("unexpected end of input")
		}
		t := next()
		cur := stack[len(stack)-1]
		switch {
		case t.text == "}" && !t.quoted:
			stack = stack[:len(stack)-1]
			continue
		case t.text == "subgraph" && !t.quoted:
			name := labelText(next().text)
			if err := expect("{"); err != nil {
				return nil, err
			}
			if _, dup := p.clusters[name]; dup {
				return nil, errors.Errorf("subgraph %q defined twice", name)
			}
			p.clusters[name] = &parsedCluster{name: name, parent: cur, attrs: map[string]string{}}
			p.order = append(p.order, name)
			stack = append(stack, name)
			continue
		case (t.text == "node" || t.text == "edge") && !t.quoted:
			if _, err := attrList(); err != nil {
				return nil, err
			}
		case peek().text == "=" && !peek().quoted:
			next()
			v := next().text
			if cur == "" {
				p.graphAttrs[t.text] = v
			} else {
				p.clusters[cur].attrs[t.text] = v
			}
		case peek().text == "->" && !peek().quoted:
			next()
			to := next().text
			attrs, err := attrList()
			if err != nil {
				return nil, err
			}
			p.edges = append(p.edges, parsedEdge{t.text, to, attrs})
		default:
			attrs, err := attrList()
			if err != nil {
				return nil, err
			}
			p.nodeCount[t.text]++
			p.nodeOrder = append(p.nodeOrder, t.text)
			p.nodes[t.text] = &parsedNode{cluster: cur, attrs: attrs}
		}
		if err := expect(";"); err != nil {
			return nil, err
		}
	}
	if pos != len(toks) {
		return nil, errors.Errorf("%d tokens after the graph", len(toks)-pos)
	}
	return p, nil
}

func writeDOT(t *testing.T, b *Builder, opts DOTOptions) (string, *parsedDOT) {
	t.Helper()
	var buf bytes.Buffer
	if err := b.WriteDOT(&buf, opts); err != nil {
		t.Fatal(err)
	}
	p, err := parseDOT(buf.String())
	if err != nil {
		t.Fatalf("parsing WriteDOT output: %v\n%s", err, buf.String())
	}
	return buf.String(), p
}

// scopePaths returns every scope path of nodes and all their prefixes.
func scopePaths(b *Builder, nodes G.Nodes) map[string]bool {
	paths := map[string]bool{}
	for _, n := range nodes {
		s := b.ScopeOf(n)
		for s != "" && s != "." {
			paths[s] = true
			s = path.Dir(s)
		}
	}
	return paths
}

// checkDOT checks the structure of p against the nodes it should draw.
func checkDOT(t *testing.T, b *Builder, p *parsedDOT, drawn G.Nodes) {
	t.Helper()
	// One cluster per scope, with its last path element as label, nested by path.
	scopes := scopePaths(b, drawn)
	if len(p.clusters) != len(scopes) {
		t.Errorf("got %d clusters %v, want %d (one per scope %v)", len(p.clusters), p.order, len(scopes), scopes)
	}
	for s := range scopes {
		name := "cluster_" + s
		c, ok := p.clusters[name]
		if !ok {
			t.Errorf("no cluster %q for scope %q", name, s)
			continue
		}
		if got, want := labelText(c.attrs["label"]), s[strings.LastIndex(s, "/")+1:]; got != want {
			t.Errorf("cluster %q has label %q, want %q", name, got, want)
		}
		wantParent := ""
		if i := strings.LastIndex(s, "/"); i >= 0 {
			wantParent = "cluster_" + s[:i]
		}
		if c.parent != wantParent {
			t.Errorf("cluster %q is inside %q, want %q", name, c.parent, wantParent)
		}
	}

	// Every drawn node exactly once, in its scope's cluster, nothing else.
	want := map[string]*G.Node{}
	for _, n := range drawn {
		want["n"+strconv.FormatInt(n.ID(), 10)] = n
	}
	if len(p.nodes) != len(want) {
		t.Errorf("got %d nodes, want %d", len(p.nodes), len(want))
	}
	for id, c := range p.nodeCount {
		if c != 1 {
			t.Errorf("node %s defined %d times", id, c)
		}
		if want[id] == nil {
			t.Errorf("node %s is not one of the drawn nodes", id)
		}
	}
	for id, n := range want {
		pn, ok := p.nodes[id]
		if !ok {
			t.Errorf("node %s (%v) missing", id, n.Name())
			continue
		}
		wantCluster := ""
		if s := b.ScopeOf(n); s != "" {
			wantCluster = "cluster_" + s
		}
		if pn.cluster != wantCluster {
			t.Errorf("node %s (%v) is in %q, want %q", id, n.Name(), pn.cluster, wantCluster)
		}
		wantLabel := n.Name()
		if n.Op() != nil {
			wantLabel = opLabel(n.Op().String())
		}
		wantLabel += "\n" + fmt.Sprint(n.Shape())
		if got := labelText(pn.attrs["label"]); got != wantLabel {
			t.Errorf("node %s has label %q, want %q", id, got, wantLabel)
		}
	}
	// Deterministic order: nodes of one cluster by ID.
	last := map[string]int64{}
	for _, id := range p.nodeOrder {
		v, _ := strconv.ParseInt(id[1:], 10, 64)
		c := p.nodes[id].cluster
		if l, ok := last[c]; ok && v <= l {
			t.Errorf("node %s out of ID order in cluster %q", id, c)
		}
		last[c] = v
	}

	// Parameters inside their scope's cluster, coloured apart from others.
	params := map[string]bool{}
	for _, prm := range b.Params() {
		id := "n" + strconv.FormatInt(prm.Node.ID(), 10)
		pn, ok := p.nodes[id]
		if want[id] == nil {
			continue
		}
		params[id] = true
		if !ok {
			t.Errorf("param %s missing", prm.Name)
			continue
		}
		if wantC := "cluster_" + path.Dir(prm.Name); path.Dir(prm.Name) != "." && pn.cluster != wantC {
			t.Errorf("param %s is in %q, want %q", prm.Name, pn.cluster, wantC)
		}
		if got := labelText(pn.attrs["label"]); !strings.HasPrefix(got, prm.Name+"\n") {
			t.Errorf("param %s has label %q", prm.Name, got)
		}
	}
	noise := map[string]bool{}
	for _, nz := range b.Noise() {
		noise["n"+strconv.FormatInt(nz.Node.ID(), 10)] = true
	}
	fill := func(ids func(string) bool) map[string]bool {
		cs := map[string]bool{}
		for id, pn := range p.nodes {
			if want[id] != nil && ids(id) {
				cs[pn.attrs["fillcolor"]+"|"+pn.attrs["shape"]] = true
			}
		}
		return cs
	}
	styles := []map[string]bool{
		fill(func(id string) bool { return params[id] }),
		fill(func(id string) bool { return noise[id] }),
		fill(func(id string) bool { return want[id].Op() == nil && !params[id] && !noise[id] }),
		fill(func(id string) bool { return want[id].Op() != nil && len(children(want[id])) > 0 }),
	}
	seen := map[string]int{}
	for i, s := range styles {
		if len(s) > 1 {
			t.Errorf("node kind %d drawn in %d styles: %v", i, len(s), s)
		}
		for st := range s {
			if j, dup := seen[st]; dup {
				t.Errorf("node kinds %d and %d share style %s", j, i, st)
			}
			seen[st] = i
		}
	}

	// Edges: between defined nodes, child → op, in argument order.
	gotEdges := map[string][]string{}
	for _, e := range p.edges {
		if p.nodeCount[e.from] == 0 || p.nodeCount[e.to] == 0 {
			t.Errorf("edge %s -> %s references an undefined node", e.from, e.to)
		}
		if l, ok := e.attrs["label"]; ok {
			gotEdges[e.to] = append(gotEdges[e.to], e.from+"#"+l)
		} else {
			gotEdges[e.to] = append(gotEdges[e.to], e.from)
		}
	}
	for id, n := range want {
		var wantEdges []string
		kids := children(n)
		for i, k := range kids {
			e := "n" + strconv.FormatInt(k.ID(), 10)
			if len(kids) > 1 {
				e += "#" + strconv.Itoa(i)
			}
			wantEdges = append(wantEdges, e)
		}
		if fmt.Sprint(gotEdges[id]) != fmt.Sprint(wantEdges) {
			t.Errorf("edges into %s (%v): got %v, want %v", id, n.Name(), gotEdges[id], wantEdges)
		}
	}
}

func TestWriteDOTClusters(t *testing.T) {
	b, out := dotTestGraph(t)
	src, p := writeDOT(t, b, DOTOptions{})
	all := b.Graph().AllNodes()
	checkDOT(t, b, p, all)

	wantScopes := []string{"block0", "block0/fc1", "block1", "block1/probe"}
	var got []string
	for s := range scopePaths(b, all) {
		got = append(got, s)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(wantScopes) {
		t.Fatalf("scopes %v, want %v", got, wantScopes)
	}
	if len(b.Params()) != 3 || len(b.Noise()) != 1 {
		t.Fatalf("test graph has %d params and %d noise inputs", len(b.Params()), len(b.Noise()))
	}
	// The graph's final node was made at top level.
	if c := p.nodes["n"+strconv.FormatInt(out.ID(), 10)].cluster; c != "" {
		t.Errorf("top-level node drawn in %q", c)
	}
	if _, ok := p.graphAttrs["label"]; ok {
		t.Errorf("zero DOTOptions drew a title")
	}
	if p.graphAttrs["rankdir"] != "TB" {
		t.Errorf("default rankdir %q, want TB", p.graphAttrs["rankdir"])
	}

	again, _ := writeDOT(t, b, DOTOptions{})
	if again != src {
		t.Errorf("WriteDOT is not deterministic")
	}
	if t.Failed() {
		t.Logf("DOT:\n%s", src)
	}
}

func TestWriteDOTOutputs(t *testing.T) {
	b, out := dotTestGraph(t)
	// Gradient nodes added after the forward pass must not be drawn.
	wrt := G.Nodes{b.Params()[0].Node}
	one, err := b.Scalar("one", 1)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := VJP(G.Nodes{out}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	src, p := writeDOT(t, b, DOTOptions{Outputs: G.Nodes{out}, Title: "forward", RankDir: "LR"})
	fwd := ancestors(G.Nodes{out})
	checkDOT(t, b, p, fwd)
	if len(fwd) >= len(b.Graph().AllNodes()) {
		t.Fatalf("VJP added no nodes")
	}
	if _, ok := p.nodes["n"+strconv.FormatInt(grads[0].ID(), 10)]; ok {
		t.Errorf("gradient node drawn though not an ancestor of Outputs")
	}
	if got := p.nodes["n"+strconv.FormatInt(out.ID(), 10)].attrs["peripheries"]; got != "2" {
		t.Errorf("output node peripheries=%q, want 2", got)
	}
	if labelText(p.graphAttrs["label"]) != "forward" || p.graphAttrs["rankdir"] != "LR" {
		t.Errorf("graph attributes %v", p.graphAttrs)
	}

	// The whole graph, gradients included, is still well formed.
	_, pAll := writeDOT(t, b, DOTOptions{})
	checkDOT(t, b, pAll, b.Graph().AllNodes())
	if t.Failed() {
		t.Logf("DOT:\n%s", src)
	}
}

func TestWriteDOTEscaping(t *testing.T) {
	b, err := NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	outer := `we"ird\ scope ✓`
	inner := "line\nbreak \\n \"q\""
	name := `x "quoted" \ back\\slash ∂`
	title := `title "with" \ quotes ✓`
	err = b.Scoped(outer, func() error {
		return b.Scoped(inner, func() error {
			x, err := b.Param(name, tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{2})))
			if err != nil {
				return err
			}
			_, err = G.Add(x, x)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	src, p := writeDOT(t, b, DOTOptions{Title: title})
	checkDOT(t, b, p, b.Graph().AllNodes())
	if got := labelText(p.graphAttrs["label"]); got != title {
		t.Errorf("title %q, want %q", got, title)
	}
	if !strings.Contains(src, "✓") || !strings.Contains(src, "∂") {
		t.Errorf("unicode not kept verbatim:\n%s", src)
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip(noGraphviz)
	}
	var svg bytes.Buffer
	if err := RenderDOT([]byte(src), "svg", &svg); err != nil {
		t.Fatalf("dot rejected escaped output: %v\n%s", err, src)
	}
	if !bytes.Contains(svg.Bytes(), []byte("<svg")) {
		t.Errorf("no <svg in dot output")
	}
	if t.Failed() {
		t.Logf("DOT:\n%s", src)
	}
}

func TestWriteDOTErrors(t *testing.T) {
	b, out := dotTestGraph(t)
	if err := b.WriteDOT(&bytes.Buffer{}, DOTOptions{RankDir: "sideways"}); err == nil {
		t.Errorf("bad RankDir accepted")
	}
	other, _ := dotTestGraph(t)
	if err := b.WriteDOT(&bytes.Buffer{}, DOTOptions{Outputs: G.Nodes{out, other.Graph().AllNodes()[0]}}); err == nil {
		t.Errorf("output from another graph accepted")
	}
	if err := b.WriteDOT(failWriter{}, DOTOptions{}); err == nil {
		t.Errorf("write error not returned")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderDOTNoGraphviz(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := RenderDOT([]byte("digraph { a -> b; }"), "svg", &bytes.Buffer{})
	if !errors.Is(err, ErrNoGraphviz) {
		t.Fatalf("got %v, want ErrNoGraphviz", err)
	}
	if !strings.Contains(err.Error(), "apt-get install graphviz") {
		t.Errorf("error %q does not say how to install graphviz", err)
	}
}

func TestRenderDOT(t *testing.T) {
	if err := RenderDOT(nil, "svg -o /tmp/x", &bytes.Buffer{}); err == nil {
		t.Errorf("bad format accepted")
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip(noGraphviz)
	}
	b, _ := dotTestGraph(t)
	var src bytes.Buffer
	if err := b.WriteDOT(&src, DOTOptions{Title: "test"}); err != nil {
		t.Fatal(err)
	}

	// dot -Tsvg exits 0 and writes SVG.
	var svg bytes.Buffer
	if err := RenderDOT(src.Bytes(), "svg", &svg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg.Bytes(), []byte("<svg")) {
		t.Errorf("dot -Tsvg output has no <svg:\n%.500s", svg.String())
	}
	var png bytes.Buffer
	if err := RenderDOT(src.Bytes(), "png", &png); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Errorf("dot -Tpng output is not a PNG")
	}
	if err := RenderDOT([]byte("digraph { a -> ; }"), "svg", &bytes.Buffer{}); err == nil {
		t.Errorf("syntax error not reported")
	}

	// Graphviz itself sees one cluster per scope, nested by path, holding
	// the scope's parameters.
	var js bytes.Buffer
	if err := RenderDOT(src.Bytes(), "json", &js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Objects []struct {
			ID        int    `json:"_gvid"`
			Name      string `json:"name"`
			Label     string `json:"label"`
			Nodes     []int  `json:"nodes"`
			Subgraphs []int  `json:"subgraphs"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	clusters := 0
	for i, o := range doc.Objects {
		byName[o.Name] = i
		if strings.HasPrefix(o.Name, "cluster_") {
			clusters++
		}
	}
	scopes := scopePaths(b, b.Graph().AllNodes())
	if clusters != len(scopes) {
		t.Errorf("graphviz sees %d clusters, want %d", clusters, len(scopes))
	}
	for s := range scopes {
		i, ok := byName["cluster_"+s]
		if !ok {
			t.Errorf("graphviz has no cluster for %q", s)
			continue
		}
		if want := path.Base(s); doc.Objects[i].Label != want {
			t.Errorf("graphviz label of %q is %q, want %q", s, doc.Objects[i].Label, want)
		}
		if d := path.Dir(s); d != "." {
			parent := doc.Objects[byName["cluster_"+d]]
			found := false
			for _, sg := range parent.Subgraphs {
				found = found || sg == doc.Objects[i].ID
			}
			if !found {
				t.Errorf("graphviz does not nest %q in %q", s, d)
			}
		}
	}
	for _, prm := range b.Params() {
		c := doc.Objects[byName["cluster_"+path.Dir(prm.Name)]]
		node := doc.Objects[byName["n"+strconv.FormatInt(prm.Node.ID(), 10)]]
		found := false
		for _, id := range c.Nodes {
			found = found || id == node.ID
		}
		if !found {
			t.Errorf("graphviz does not put param %s in cluster %q", prm.Name, c.Name)
		}
	}
}
