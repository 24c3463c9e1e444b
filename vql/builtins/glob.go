package builtins

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// GlobPluginArgs are Velociraptor's glob() arguments.
type GlobPluginArgs struct {
	Globs               []string    `vfilter:"required,field=globs,doc=One or more glob patterns to apply to the filesystem."`
	Root                string      `vfilter:"optional,field=root,doc=The root directory to glob from (default '')."`
	Accessor            string      `vfilter:"optional,field=accessor,doc=An accessor to use."`
	DoNotFollowSymlinks vfilter.Any `vfilter:"optional,field=nosymlink,doc=Do not follow symbolic links: always the case here (links are reported, never descended into); FALSE is an error."`
	RecursionCallback   string      `vfilter:"optional,field=recursion_callback,doc=A VQL function that determines if a directory should be recursed (e.g. \"x=>NOT x.Name =~ 'proc'\")."`
}

// Velociraptor's glob also takes one_filesystem (do not cross into other
// file systems); this one does not look at devices, so the argument is
// not declared and passing it is an error rather than a promise not kept.

// GlobPlugin is glob(). Rows have Velociraptor's columns: Name, OSPath,
// Mtime, Atime, Ctime, Btime, Size, Mode, IsDir, IsLink, Data, Globs.
// Matching is case-insensitive (as in Velociraptor); a directory's hits
// come sorted by name before its subdirectories are searched, and
// subdirectories are searched in name order (Velociraptor's order there
// is random). Symbolic links are reported but never descended into.
type GlobPlugin struct{}

var (
	groupingRe  = regexp.MustCompile("^(.+)[{]([^{}]+)[}](.*)$")
	recursionRe = regexp.MustCompile(`^\*\*(\d*)`)
	globMagicRe = regexp.MustCompile("[*?[]")
)

// ExpandBraces turns /a/{b,c} into /a/b and /a/c (not at the first
// character, where a { starts a pathspec).
func ExpandBraces(patterns []string) []string {
	var out []string
	var expand func(string)
	expand = func(p string) {
		if g := groupingRe.FindStringSubmatch(p); len(g) > 0 {
			for _, item := range strings.Split(g[2], ",") {
				expand(g[1] + item + g[3])
			}
			return
		}
		for _, o := range out {
			if o == p {
				return
			}
		}
		out = append(out, p)
	}
	for _, p := range patterns {
		expand(p)
	}
	return out
}

// fnmatchTranslate is Python's fnmatch.translate, as Velociraptor uses.
func fnmatchTranslate(pat string) string {
	p := []rune(pat)
	n := len(p)
	var res []rune
	for i := 0; i < n; {
		c := p[i]
		i++
		switch c {
		case '*':
			res = append(res, '.', '*')
		case '?':
			res = append(res, '.')
		case '[':
			j := i
			if j < n && p[j] == '!' {
				j++
			}
			if j < n && p[j] == ']' {
				j++
			}
			for j < n && p[j] != ']' {
				j++
			}
			if j >= n {
				res = append(res, '\\', '[')
				continue
			}
			var stuff []rune
			for _, x := range p[i:j] {
				if x == '\\' {
					stuff = append(stuff, '\\')
				}
				stuff = append(stuff, x)
			}
			i = j + 1
			if stuff[0] == '!' {
				stuff = append([]rune("^"), stuff[1:]...)
			} else if stuff[0] == '^' {
				stuff = append([]rune("\\"), stuff...)
			}
			res = append(res, '[')
			res = append(res, stuff...)
			res = append(res, ']')
		default:
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				res = append(res, '\\')
			}
			res = append(res, c)
		}
	}
	return string(res) + `\z(?ms)`
}

type globFilter struct {
	key     string // identity in the tree
	literal string
	re      *regexp.Regexp
	recurse int // >0: a ** component with this depth
}

func (f *globFilter) match(name string) bool {
	if f.re != nil {
		return f.re.MatchString(name)
	}
	return strings.EqualFold(f.literal, name)
}

type globNode struct {
	children map[string]*globNode
	filters  map[string]*globFilter
	globs    []string // non-nil: a sentinel (hits are reported here)
}

func newGlobNode() *globNode {
	return &globNode{children: map[string]*globNode{}, filters: map[string]*globFilter{}}
}

var starFilter = func() *globFilter {
	re := fnmatchTranslate("*")
	return &globFilter{key: "re:" + re, re: regexp.MustCompile(re)}
}()

func compileComponents(components []string) ([]*globFilter, error) {
	var out []*globFilter
	for _, c := range components {
		if c == "" {
			continue
		}
		if g := recursionRe.FindStringSubmatch(c); len(g) > 0 {
			depth := 30
			if g[1] != "" {
				d, err := strconv.Atoi(g[1])
				if err != nil {
					return nil, err
				}
				depth = d
			}
			out = append(out, &globFilter{recurse: depth + 1})
			continue
		}
		if globMagicRe.MatchString(c) {
			expr := fnmatchTranslate(c)
			re, err := regexp.Compile("^(?msi)" + expr)
			if err != nil {
				return nil, fmt.Errorf("While compiling component %v: %w", expr, err)
			}
			out = append(out, &globFilter{key: "re:" + expr, re: re})
			continue
		}
		// Keyed by the component as written, like Velociraptor's
		// _LiteralComponent map key (Globber._add_filter): alternatives
		// that differ only in case ({Status,status}) are two branches
		// that both match (case-insensitively) and report every file
		// under them twice, as Velociraptor does.
		out = append(out, &globFilter{key: "lit:" + c, literal: c})
	}
	return out, nil
}

// add expands ** components (zero to depth intermediate directories,
// the zero case only when something follows) and adds the result.
func (n *globNode) add(filters []*globFilter, globs []string) {
	for idx, f := range filters {
		if f.recurse == 0 {
			continue
		}
		left := append([]*globFilter(nil), filters[:idx]...)
		right := filters[idx+1:]
		var middle []*globFilter
		for i := 0; i < f.recurse; i++ {
			if (len(middle) == 0 && len(right) > 0) || len(middle) > 0 {
				nf := append(append(append([]*globFilter(nil), left...), middle...), right...)
				n.add(nf, globs)
			}
			middle = append(middle, starFilter)
		}
		return
	}
	cur := n
	for _, f := range filters {
		next, ok := cur.children[f.key]
		if !ok {
			next = newGlobNode()
			cur.children[f.key] = next
			cur.filters[f.key] = f
		}
		cur = next
	}
	if cur.globs == nil {
		cur.globs = []string{}
	}
	cur.globs = append(cur.globs, globs...)
}

type globHit struct {
	fi    evidence.FileInfo
	globs []string
}

func (self GlobPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &GlobPluginArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "glob", arg) {
			return
		}
		if arg.DoNotFollowSymlinks != nil && !scope.Bool(arg.DoNotFollowSymlinks) {
			vqlkit.Errorf(scope, "glob", "nosymlink=FALSE is not supported: glob never descends into a symbolic link, so that it stays inside the evidence")
			return
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("glob: %v", err)
			return
		}
		var recurse *vfilter.Lambda
		if arg.RecursionCallback != "" {
			recurse, err = vfilter.ParseLambda(arg.RecursionCallback)
			if err != nil {
				scope.Log("glob: while parsing recursion_callback: %v", err)
				return
			}
		}
		root := arg.Root
		tree := newGlobNode()
		for _, item := range ExpandBraces(arg.Globs) {
			components := SplitComponents(item)
			if root == "" {
				root = defaultRoot(components)
			}
			filters, err := compileComponents(components)
			if err != nil {
				scope.Log("glob: Rejected glob expression %v: %v", item, err)
				continue
			}
			tree.add(filters, []string{globString(components)})
		}
		if len(tree.children) == 0 {
			return
		}
		g := &globber{ctx: ctx, scope: scope, acc: acc, out: out, recurse: recurse}
		g.expand(tree, root)
	}()
	return out
}

func defaultRoot(components []string) string {
	if runtime.GOOS == "windows" && len(components) > 0 && driveLetterRe.MatchString(components[0]) {
		return components[0] + `\`
	}
	return "/"
}

func globString(components []string) string {
	if runtime.GOOS == "windows" {
		if len(components) > 0 && driveLetterRe.MatchString(components[0]) {
			return components[0] + JoinComponents(components[1:], `\`)
		}
		return JoinComponents(components, `\`)
	}
	return "/" + strings.Join(components, "/")
}

type globber struct {
	ctx     context.Context
	scope   vfilter.Scope
	acc     evidence.Accessor
	out     chan<- vfilter.Row
	recurse *vfilter.Lambda
}

// expand lists dir, reports the hits of node's sentinels in name order,
// then descends into matching directories in name order.
func (g *globber) expand(node *globNode, dir string) bool {
	if g.ctx.Err() != nil {
		return false
	}
	if len(node.children) == 0 {
		return true
	}
	files, err := g.acc.ReadDir(dir)
	if err != nil && len(files) == 0 {
		if !evidence.IsNotExist(err) {
			g.scope.Log("Globber: %v while processing %v", err, dir)
		}
		return true
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	keys := make([]string, 0, len(node.filters))
	for k := range node.filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	type descend struct {
		path string
		next *globNode
	}
	var hits []globHit
	var subdirs []descend
	for _, f := range files {
		var hit *globHit
		for _, k := range keys {
			if !node.filters[k].match(f.Name) {
				continue
			}
			next := node.children[k]
			if next.globs != nil {
				if hit == nil {
					hit = &globHit{fi: f}
				}
				for _, gl := range next.globs {
					if !contains(hit.globs, gl) {
						hit.globs = append(hit.globs, gl)
					}
				}
			}
			if f.IsDir && !f.IsLink && len(next.children) > 0 && g.shouldRecurse(f) {
				subdirs = append(subdirs, descend{path: f.Path, next: next})
			}
		}
		if hit != nil {
			hits = append(hits, *hit)
		}
	}
	for _, h := range hits {
		select {
		case <-g.ctx.Done():
			return false
		case g.out <- fileInfoRow(h.fi, h.globs):
		}
	}
	for _, d := range subdirs {
		if !g.expand(d.next, d.path) {
			return false
		}
	}
	return true
}

func (g *globber) shouldRecurse(f evidence.FileInfo) bool {
	if g.recurse == nil {
		return true
	}
	return g.scope.Bool(g.recurse.Reduce(g.ctx, g.scope, []vfilter.Any{fileInfoRow(f, nil)}))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// fileInfoRow is a file in Velociraptor's glob/stat column order. Globs
// nil leaves the Globs column out (stat). The times are those
// Velociraptor's file accessor gives on this OS (velociraptorTimes:
// whole seconds on Linux).
func fileInfoRow(fi evidence.FileInfo, globs []string) *ordereddict.Dict {
	fi = velociraptorTimes(fi)
	row := ordereddict.NewDict().
		Set("Name", fi.Name).
		Set("OSPath", fi.Path).
		Set("Mtime", fi.Mtime.UTC()).
		Set("Atime", fi.Atime.UTC()).
		Set("Ctime", fi.Ctime.UTC()).
		Set("Btime", fi.Btime.UTC()).
		Set("Size", fi.Size).
		Set("Mode", fi.Mode).
		Set("IsDir", fi.IsDir).
		Set("IsLink", fi.IsLink).
		Set("Data", ordereddict.NewDict())
	if globs != nil {
		row.Set("Globs", globs)
	}
	return row
}

func (GlobPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "glob",
		Doc:     "Retrieve files based on a list of glob expressions",
		ArgType: typeMap.AddType(scope, &GlobPluginArgs{}),
		Version: 3,
	}
}
