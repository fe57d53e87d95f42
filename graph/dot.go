package graph

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// DOTOptions configures Builder.WriteDOT. The zero value draws the whole
// graph, top to bottom, without a title.
type DOTOptions struct {
	// Title, if not empty, is drawn as the graph's label at the top.
	Title string

	// Outputs, if not empty, restricts the drawing to these nodes and the
	// nodes they depend on (for example to draw only a forward pass and
	// leave out gradient nodes). The output nodes are drawn with a double
	// border. Every output must belong to the Builder's graph.
	Outputs G.Nodes

	// RankDir is graphviz's rankdir: "TB" (top to bottom, the default when
	// empty), "LR", "BT" or "RL".
	RankDir string

	// Depth, when > 0, draws every scope at that depth (1: the top-level
	// scopes such as block0, block1, …) as one box that summarizes its
	// contents (sub-scopes, parameter tensors and values, ops) instead of
	// its nodes, with one edge per pair of connected boxes labelled with
	// the shape that flows along it. A model of many blocks then draws in
	// seconds. Nodes outside such scopes are drawn as usual.
	Depth int

	// Size, if not empty, is graphviz's size attribute in inches, e.g.
	// "40,40": a larger drawing is scaled down to fit, which keeps a PNG
	// rendering of a big graph to a size image viewers accept.
	Size string
}

// Styles of the kinds of node in WriteDOT's output. Inputs are ellipses
// and computed nodes are boxes; the fill colour tells parameters, noise
// inputs and other inputs apart.
const (
	dotOpStyle      = `shape=box, style="rounded,filled", fillcolor="#dbe8f6"`
	dotConstStyle   = `shape=box, style="dashed,filled", fillcolor="#f2f2f2"`
	dotInputStyle   = `shape=ellipse, style=filled, fillcolor="#e3e3e3"`
	dotParamStyle   = `shape=ellipse, style=filled, fillcolor="#ffd966"`
	dotNoiseStyle   = `shape=ellipse, style=filled, fillcolor="#f4a7a7"`
	dotClusterStyle = `style="rounded,filled"; fillcolor="#fafafa"; color="#999999"`
	dotOutputStyle  = `, peripheries=2`
)

// WriteDOT writes the graph in graphviz DOT format to w. Each scope of the
// Builder (see Scoped) becomes a cluster labelled with the scope's name and
// nested by path, so nodes made in scope "block0/fc1" are drawn inside
// cluster "fc1", which is inside cluster "block0". Only scopes that contain
// at least one drawn node (directly or in a nested scope) get a cluster.
//
// Inputs are drawn as ellipses labelled with their name and shape;
// parameters (Params) are gold, noise inputs (Noise) red and other inputs
// grey. Computed nodes are blue boxes labelled with their op and shape;
// constants are dashed boxes. An edge runs from each argument of an op to
// the node that uses it, numbered by argument position when the op takes
// more than one. Nodes are ordered by ID, so the output is deterministic.
//
// Nodes without a name of their own, and nodes added to the gorgonia graph
// directly rather than through the Builder, are drawn just the same.
func (b *Builder) WriteDOT(w io.Writer, opts DOTOptions) error {
	rankdir := opts.RankDir
	switch rankdir {
	case "":
		rankdir = "TB"
	case "TB", "LR", "BT", "RL":
	default:
		return errors.Errorf("graph: WriteDOT: RankDir %q is not one of TB, LR, BT, RL", opts.RankDir)
	}

	var nodes G.Nodes
	if len(opts.Outputs) == 0 {
		nodes = append(nodes, b.g.AllNodes()...)
	} else {
		for _, o := range opts.Outputs {
			if o == nil || o.Graph() != b.g {
				return errors.New("graph: WriteDOT: an output node is not in this Builder's graph")
			}
		}
		nodes = ancestors(opts.Outputs)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID() < nodes[j].ID() })

	kind := map[*G.Node]string{}
	for _, p := range b.Params() {
		kind[p.Node] = dotParamStyle
	}
	for _, nz := range b.Noise() {
		kind[nz.Node] = dotNoiseStyle
	}
	isOutput := make(map[*G.Node]bool, len(opts.Outputs))
	for _, o := range opts.Outputs {
		isOutput[o] = true
	}

	// group maps a node inside a collapsed scope (Depth) to that scope.
	group := map[*G.Node]string{}
	groups := map[string]*dotGroup{}
	root := &dotCluster{}
	for _, n := range nodes {
		path := b.ScopeOf(n)
		var parts []string
		if path != "" {
			parts = strings.Split(path, "/")
		}
		if opts.Depth > 0 && len(parts) >= opts.Depth {
			name := strings.Join(parts[:opts.Depth], "/")
			g := groups[name]
			if g == nil {
				g = &dotGroup{name: name, subs: map[string]bool{}}
				groups[name] = g
				c := root
				for _, p := range parts[:opts.Depth-1] {
					c = c.child(p)
				}
				c.groups = append(c.groups, g)
			}
			g.add(n, parts[opts.Depth:], kind[n])
			group[n] = name
			continue
		}
		c := root
		for _, name := range parts {
			c = c.child(name)
		}
		c.nodes = append(c.nodes, n)
	}

	var buf bytes.Buffer
	buf.WriteString("digraph {\n")
	buf.WriteString("\trankdir=" + rankdir + ";\n")
	// newrank ranks the whole graph at once instead of cluster by cluster:
	// the older ranking fails ("trouble in init_rank") on some graphs whose
	// edges cross between nested clusters, as training graphs do.
	buf.WriteString("\tnewrank=true;\n")
	if opts.Title != "" {
		buf.WriteString("\tlabel=" + dotQuote(opts.Title) + ";\n")
		buf.WriteString("\tlabelloc=t;\n")
	}
	if opts.Size != "" {
		buf.WriteString("\tsize=" + dotQuote(opts.Size) + ";\n")
	}
	buf.WriteString("\tfontname=\"Helvetica\";\n")
	buf.WriteString("\tnode [fontname=\"Helvetica\", fontsize=10];\n")
	buf.WriteString("\tedge [fontname=\"Helvetica\", fontsize=8];\n")

	var writeCluster func(c *dotCluster, path []string, depth int)
	writeCluster = func(c *dotCluster, path []string, depth int) {
		indent := strings.Repeat("\t", depth+1)
		if depth > 0 {
			buf.WriteString(indent[1:] + "subgraph " + dotQuote("cluster_"+strings.Join(path, "/")) + " {\n")
			buf.WriteString(indent + "label=" + dotQuote(path[len(path)-1]) + ";\n")
			buf.WriteString(indent + dotClusterStyle + ";\n")
		}
		for _, n := range c.nodes {
			buf.WriteString(indent + dotNodeID(n) + " [label=" + dotQuote(dotLabel(n)) + ", ")
			switch {
			case kind[n] != "":
				buf.WriteString(kind[n])
			case n.Op() == nil:
				buf.WriteString(dotInputStyle)
			case len(children(n)) == 0:
				buf.WriteString(dotConstStyle)
			default:
				buf.WriteString(dotOpStyle)
			}
			if isOutput[n] {
				buf.WriteString(dotOutputStyle)
			}
			buf.WriteString("];\n")
		}
		for _, g := range c.groups {
			buf.WriteString(indent + dotGroupID(g.name) + " [label=" + dotQuote(g.label()) + ", " + dotGroupStyle + "];\n")
		}
		for _, k := range c.sortedKids() {
			writeCluster(k, append(path[:len(path):len(path)], k.name), depth+1)
		}
		if depth > 0 {
			buf.WriteString(indent[1:] + "}\n")
		}
	}
	writeCluster(root, nil, 0)

	// Edges into and out of collapsed scopes: one per pair of endpoints,
	// labelled with the shapes that flow along it, in first-use order.
	type pair struct{ from, to string }
	var pairs []pair
	shapes := map[pair][]string{}
	id := func(n *G.Node) string {
		if g, ok := group[n]; ok {
			return dotGroupID(g)
		}
		return dotNodeID(n)
	}
	for _, n := range nodes {
		if n.Op() == nil {
			continue
		}
		kids := children(n)
		_, collapsedN := group[n]
		for i, k := range kids {
			_, collapsedK := group[k]
			if !collapsedN && !collapsedK {
				buf.WriteString("\t" + dotNodeID(k) + " -> " + dotNodeID(n))
				if len(kids) > 1 {
					buf.WriteString(" [label=" + dotQuote(strconv.Itoa(i)) + "]")
				}
				buf.WriteString(";\n")
				continue
			}
			e := pair{id(k), id(n)}
			if e.from == e.to {
				continue
			}
			if _, seen := shapes[e]; !seen {
				pairs = append(pairs, e)
			}
			sh := fmt.Sprint(k.Shape())
			if !slices.Contains(shapes[e], sh) {
				shapes[e] = append(shapes[e], sh)
			}
		}
	}
	for _, e := range pairs {
		buf.WriteString("\t" + e.from + " -> " + e.to + " [label=" + dotQuote(strings.Join(shapes[e], " ")) + "];\n")
	}
	buf.WriteString("}\n")

	_, err := w.Write(buf.Bytes())
	return errors.Wrap(err, "graph: WriteDOT")
}

// dotCluster is one scope in the cluster tree built by WriteDOT.
type dotCluster struct {
	name   string
	nodes  G.Nodes
	groups []*dotGroup // collapsed scopes drawn as single boxes here
	kids   map[string]*dotCluster
}

// dotGroupStyle is the style of a collapsed scope's box.
const dotGroupStyle = `shape=box, style="rounded,filled", fillcolor="#cfe2cf", fontsize=12`

// dotGroup is a scope drawn as one box (DOTOptions.Depth): what it holds.
type dotGroup struct {
	name                string
	subs                map[string]bool // names of the scopes directly inside
	ops, params, values int
	noise, inputs, cons int
	opNames             []string // the ops' labels, for a group of few ops
}

// fewOps is the most ops a box lists by name instead of counting them.
const fewOps = 3

// addOp counts one op of the group, keeping its label while there are few.
func (g *dotGroup) addOp(n *G.Node) {
	g.ops++
	if g.ops <= fewOps {
		g.opNames = append(g.opNames, opLabel(n.Op().String()))
	}
}

// add counts node n, found at sub-path rest inside the group, of the given
// DOT style kind.
func (g *dotGroup) add(n *G.Node, rest []string, kind string) {
	if len(rest) > 0 {
		g.subs[rest[0]] = true
	}
	switch {
	case kind == dotParamStyle:
		g.params++
		g.values += n.Shape().TotalSize()
	case kind == dotNoiseStyle:
		g.noise++
	case n.Op() == nil:
		g.inputs++
	case len(children(n)) == 0:
		g.cons++
	default:
		g.addOp(n)
	}
}

// label summarizes the group: its name, the scopes inside it, its
// parameters and its size in ops.
func (g *dotGroup) label() string {
	lines := []string{g.name}
	if len(g.subs) > 0 {
		subs := make([]string, 0, len(g.subs))
		for s := range g.subs {
			subs = append(subs, s)
		}
		sort.Strings(subs)
		if len(subs) > 8 {
			subs = append(subs[:7], fmt.Sprintf("… (%d in all)", len(subs)))
		}
		lines = append(lines, strings.Join(subs, " "))
	}
	if g.params > 0 {
		lines = append(lines, fmt.Sprintf("%s, %s", plural(g.params, "parameter tensor"), plural(g.values, "value")))
	}
	if g.noise > 0 {
		lines = append(lines, plural(g.noise, "random input")+" (probes)")
	}
	if g.ops <= fewOps && g.ops > 0 {
		lines = append(lines, "ops: "+strings.Join(g.opNames, ", "))
	} else {
		lines = append(lines, plural(g.ops, "op"))
	}
	return strings.Join(lines, "\n")
}

// dotGroupID returns the DOT identifier of a collapsed scope.
func dotGroupID(name string) string { return dotQuote("scope:" + name) }

// child returns the nested cluster called name, creating it if needed.
func (c *dotCluster) child(name string) *dotCluster {
	if c.kids == nil {
		c.kids = map[string]*dotCluster{}
	}
	k, ok := c.kids[name]
	if !ok {
		k = &dotCluster{name: name}
		c.kids[name] = k
	}
	return k
}

// sortedKids returns the nested clusters ordered by name.
func (c *dotCluster) sortedKids() []*dotCluster {
	ks := make([]*dotCluster, 0, len(c.kids))
	for _, k := range c.kids {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].name < ks[j].name })
	return ks
}

// dotNodeID returns the DOT identifier of n, unique within its graph.
func dotNodeID(n *G.Node) string { return "n" + strconv.FormatInt(n.ID(), 10) }

// dotLabel returns the text drawn in n's box: its name for an input, its op
// for a computed node (readable, see opLabel), then its shape on a second
// line.
func dotLabel(n *G.Node) string {
	head := n.Name()
	if n.Op() != nil {
		head = opLabel(n.Op().String())
	}
	return head + "\n" + fmt.Sprint(n.Shape())
}

// binaryOps names gorgonia's element-wise binary ops by their symbol.
var binaryOps = map[string]string{
	"+": "a + b", "-": "a − b", "⊙": "a ⊙ b (element-wise)", "÷": "a ÷ b",
	"^": "a ^ b", ">": "a > b", "<": "a < b", "≥": "a ≥ b", "≤": "a ≤ b", "==": "a = b", "!=": "a ≠ b",
}

// opLabel makes an op's String readable: gorgonia writes its element-wise
// binary ops as the symbol and a flag ("+ false", "⊙ false"), which become
// "a + b", "a ⊙ b (element-wise)"; other ops are kept as they are.
func opLabel(s string) string {
	sym, flag, ok := strings.Cut(s, " ")
	if ok && (flag == "false" || flag == "true") {
		if l, known := binaryOps[sym]; known {
			return l
		}
	}
	return s
}

// dotQuote returns s as a DOT double-quoted string whose label text is s:
// backslashes and quotes are escaped, newlines become graphviz's "\n" line
// break, and other control characters become spaces. Unicode is kept.
func dotQuote(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case unicode.IsControl(r):
			sb.WriteByte(' ')
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// ErrNoGraphviz is returned by RenderDOT when graphviz's dot executable is
// not on the PATH.
var ErrNoGraphviz = errors.New("graph: graphviz `dot` executable not found in PATH; install graphviz (apt-get install graphviz on Debian/Ubuntu)")

// dotFormat matches the output formats RenderDOT passes to dot -T, such as
// "svg", "png" or "png:cairo".
var dotFormat = regexp.MustCompile(`^[A-Za-z0-9_]+(:[A-Za-z0-9_]+)*$`)

// RenderDOT renders DOT text (such as WriteDOT's output) to w in the given
// graphviz output format, for example "svg" or "png", by running the dot
// executable from graphviz. It returns ErrNoGraphviz if dot is not on the
// PATH, and an error carrying dot's diagnostics if dot fails.
func RenderDOT(dot []byte, format string, w io.Writer) error {
	if !dotFormat.MatchString(format) {
		return errors.Errorf("graph: RenderDOT: invalid output format %q", format)
	}
	bin, err := exec.LookPath("dot")
	if err != nil {
		return ErrNoGraphviz
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-T"+format)
	cmd.Stdin = bytes.NewReader(dot)
	cmd.Stdout = w
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return errors.Wrapf(err, "graph: RenderDOT: dot -T%s", format)
		}
		return errors.Wrapf(err, "graph: RenderDOT: dot -T%s: %s", format, msg)
	}
	return nil
}

// plural returns "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
