package graph

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
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

	root := &dotCluster{}
	for _, n := range nodes {
		c := root
		if path := b.ScopeOf(n); path != "" {
			for _, name := range strings.Split(path, "/") {
				c = c.child(name)
			}
		}
		c.nodes = append(c.nodes, n)
	}

	var buf bytes.Buffer
	buf.WriteString("digraph {\n")
	buf.WriteString("\trankdir=" + rankdir + ";\n")
	if opts.Title != "" {
		buf.WriteString("\tlabel=" + dotQuote(opts.Title) + ";\n")
		buf.WriteString("\tlabelloc=t;\n")
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
		for _, k := range c.sortedKids() {
			writeCluster(k, append(path[:len(path):len(path)], k.name), depth+1)
		}
		if depth > 0 {
			buf.WriteString(indent[1:] + "}\n")
		}
	}
	writeCluster(root, nil, 0)

	for _, n := range nodes {
		if n.Op() == nil {
			continue
		}
		kids := children(n)
		for i, k := range kids {
			buf.WriteString("\t" + dotNodeID(k) + " -> " + dotNodeID(n))
			if len(kids) > 1 {
				buf.WriteString(" [label=" + dotQuote(strconv.Itoa(i)) + "]")
			}
			buf.WriteString(";\n")
		}
	}
	buf.WriteString("}\n")

	_, err := w.Write(buf.Bytes())
	return errors.Wrap(err, "graph: WriteDOT")
}

// dotCluster is one scope in the cluster tree built by WriteDOT.
type dotCluster struct {
	name  string
	nodes G.Nodes
	kids  map[string]*dotCluster
}

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
// for a computed node, then its shape on a second line.
func dotLabel(n *G.Node) string {
	head := n.Name()
	if n.Op() != nil {
		head = n.Op().String()
	}
	return head + "\n" + fmt.Sprint(n.Shape())
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
