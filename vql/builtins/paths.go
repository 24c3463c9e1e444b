package builtins

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Velociraptor paths are lists of components. A component holding a
// separator is quoted ("a/b"), a quote inside is doubled. These helpers
// give the strings Velociraptor gives for the generic, linux and windows
// path types (the golden testcases of path functions pin them). Paths are returned as
// strings (Velociraptor returns OSPath objects, which serialise to the
// same strings).

var (
	driveLetterRe  = regexp.MustCompile(`^[a-zA-Z]:$`)
	deviceDriveRe  = regexp.MustCompile(`(?i)^(\\\\[\?\.]\\[a-zA-Z]:)(.*)`)
	deviceDirRe    = regexp.MustCompile(`(?i)^(\\\\[\?\.]\\GLOBALROOT\\Device\\[^/\\]+)([/\\]?.*)`)
	uncRe          = regexp.MustCompile(`(?i)^(\\\\[^\\]+)\\(.*)`)
	errUnknownType = "Unknown path type: %v (should be one of windows,linux,generic)"
)

func consumeComponent(path string) (string, string) {
	if path == "" {
		return "", ""
	}
	n := len(path)
	switch path[0] {
	case '/', '\\':
		return path[1:], ""
	case '"':
		var result []byte
		for i := 1; i < n; i++ {
			if path[i] != '"' {
				result = append(result, path[i])
				continue
			}
			if i >= n-1 {
				return "", string(result)
			}
			next := path[i+1]
			switch next {
			case '"':
				result = append(result, next)
				i++
			case '/', '\\':
				return path[i+1:], string(result)
			default:
				result = append(result, next)
			}
		}
		return "", string(result)
	default:
		for i := 0; i < n; i++ {
			if path[i] == '/' || path[i] == '\\' {
				return path[i:], path[:i]
			}
		}
	}
	return "", path
}

// SplitComponents splits a path on / and \, honouring quoted components
// and dropping empty, "." and ".." components (Velociraptor's
// utils.SplitComponents).
func SplitComponents(path string) []string {
	var out []string
	var c string
	for path != "" {
		path, c = consumeComponent(path)
		if c != "" && c != "." && c != ".." {
			out = append(out, c)
		}
	}
	return out
}

func escapeComponent(c string) string {
	quote := false
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		b.WriteByte(c[i])
		switch c[i] {
		case '/', '\\':
			quote = true
		case '"':
			quote = true
			b.WriteByte('"')
		}
	}
	if quote {
		return `"` + b.String() + `"`
	}
	return b.String()
}

// JoinComponents is the inverse of SplitComponents (Velociraptor's
// utils.JoinComponents): a leading separator unless the first component
// is a drive letter.
func JoinComponents(components []string, sep string) string {
	if len(components) == 0 {
		return ""
	}
	var result []string
	for i, c := range components {
		if i == 0 && !driveLetterRe.MatchString(components[0]) {
			result = append(result, "")
		}
		if c != "" {
			result = append(result, escapeComponent(c))
		}
	}
	return strings.Join(result, sep)
}

// osPath is a parsed path of one path type.
type osPath struct {
	kind       string // generic, linux, windows
	sep        string // generic only
	components []string
}

func parsePathString(path, sep, pathType string) (*osPath, error) {
	if pathType == "" {
		switch sep {
		case "":
			if runtime.GOOS == "windows" {
				pathType = "windows"
			} else {
				pathType = "generic"
			}
		case `\`:
			pathType = "windows"
		default:
			pathType = "generic"
		}
	}
	p := &osPath{kind: pathType, sep: "/"}
	switch pathType {
	case "generic", "":
		p.kind = "generic"
		p.components = SplitComponents(path)
	case "linux":
		for _, c := range strings.Split(path, "/") {
			if c == "" || c == "." || c == ".." {
				continue
			}
			p.components = append(p.components, c)
		}
	case "windows":
		for _, re := range []*regexp.Regexp{deviceDriveRe, deviceDirRe, uncRe} {
			if m := re.FindStringSubmatch(path); len(m) != 0 {
				p.components = append([]string{m[1]}, SplitComponents(m[2])...)
				return p, nil
			}
		}
		p.components = SplitComponents(path)
	default:
		return nil, fmt.Errorf(errUnknownType, pathType)
	}
	return p, nil
}

func (p *osPath) String() string {
	switch p.kind {
	case "linux":
		return "/" + strings.Join(p.components, "/")
	case "windows":
		if len(p.components) == 0 {
			return ""
		}
		return p.components[0] + JoinComponents(p.components[1:], `\`)
	}
	return JoinComponents(p.components, p.sep)
}

func pathArg(ctx context.Context, scope vfilter.Scope, v vfilter.Any, sep, pathType string) (*osPath, error) {
	switch t := v.(type) {
	case vfilter.LazyExpr:
		return pathArg(ctx, scope, t.ReduceWithScope(ctx, scope), sep, pathType)
	case string:
		return parsePathString(t, sep, pathType)
	case fmt.Stringer:
		return parsePathString(t.String(), sep, pathType)
	}
	return nil, fmt.Errorf("Path should be an OSPath or string, not %T", v)
}

// DirnameArgs are Velociraptor's dirname/basename arguments.
type DirnameArgs struct {
	Path     vfilter.Any `vfilter:"required,field=path,doc=Extract directory name of path"`
	Sep      string      `vfilter:"optional,field=sep,doc=Separator to use (default /)"`
	PathType string      `vfilter:"optional,field=path_type,doc=Type of path (e.g. windows, linux)"`
}

// DirnameFunction is dirname().
type DirnameFunction struct{}

func (DirnameFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &DirnameArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "dirname", arg) {
		return false
	}
	p, err := pathArg(ctx, scope, arg.Path, arg.Sep, arg.PathType)
	if err != nil {
		scope.Log("dirname: %v", err)
		return false
	}
	if len(p.components) > 0 {
		p.components = p.components[:len(p.components)-1]
	}
	return p.String()
}

func (DirnameFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "dirname",
		Doc:     "Return the directory path.",
		ArgType: typeMap.AddType(scope, &DirnameArgs{}),
	}
}

// BasenameFunction is basename().
type BasenameFunction struct{}

func (BasenameFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &DirnameArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "basename", arg) {
		return false
	}
	p, err := pathArg(ctx, scope, arg.Path, arg.Sep, arg.PathType)
	if err != nil {
		scope.Log("basename: %v", err)
		return false
	}
	if len(p.components) == 0 {
		return ""
	}
	return p.components[len(p.components)-1]
}

func (BasenameFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "basename",
		Doc:     "Return the basename of the path.",
		ArgType: typeMap.AddType(scope, &DirnameArgs{}),
	}
}

// PathJoinArgs are Velociraptor's path_join arguments.
type PathJoinArgs struct {
	Components []vfilter.Any `vfilter:"required,field=components,doc=Path components to join."`
	Sep        string        `vfilter:"optional,field=sep,doc=Separator to use (default /)"`
	PathType   string        `vfilter:"optional,field=path_type,doc=Type of path (e.g. 'windows')"`
}

// PathJoinFunction is path_join().
type PathJoinFunction struct{}

func (PathJoinFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &PathJoinArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "path_join", arg) {
		return false
	}
	var components []string
	var last *osPath
	for _, c := range arg.Components {
		p, err := pathArg(ctx, scope, c, arg.Sep, arg.PathType)
		if err != nil {
			scope.Log("path_join: %v", err)
			return false
		}
		last = p
		components = append(components, p.components...)
	}
	if last == nil {
		p, err := parsePathString("", arg.Sep, arg.PathType)
		if err != nil {
			scope.Log("path_join: %v", err)
			return false
		}
		last = p
	}
	last.components = components
	return last.String()
}

func (PathJoinFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "path_join",
		Doc:     "Build a path by joining all components.",
		ArgType: typeMap.AddType(scope, &PathJoinArgs{}),
	}
}
