package artifacts

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"www.velocidex.com/golang/vfilter"
)

// The compiler turns an artifact into the request a Velociraptor client
// runs: the parameters as string variables, VQL that converts each to
// its declared type, the exports of the artifact and of those it
// imports, then each source as a LET plus one named SELECT. The text it
// emits is what `vql artifacts show` prints and what a collection
// container records, so it follows what Velociraptor sends for the
// same artifact; the integration goldens run the same artifacts under
// Velociraptor and compare the rows.

// Env is one parameter passed to a request.
type Env struct {
	Key     string
	Value   string
	Comment string
}

// Query is one VQL statement of a request. Name is set on the statement
// whose rows are the results of a source: "Artifact" or
// "Artifact/Source".
type Query struct {
	Name string
	VQL  string
}

// Request is a compiled artifact: the parameters become Env (strings),
// the type conversions, exports, imports and sources become Queries,
// run in order in one scope.
type Request struct {
	Artifact     string
	Env          []*Env
	Precondition string
	Queries      []*Query

	// Timeout is resources.timeout in seconds (0: none).
	Timeout uint64
}

// CompilerOptions change how an artifact is compiled.
type CompilerOptions struct {
	// DisablePrecondition drops the artifact's precondition (the
	// Artifact plugin's default: preconditions=FALSE).
	DisablePrecondition bool
}

// quoteIdent writes a variable name so VQL reads it as one identifier:
// in backquotes when it starts with a digit or holds a quote, a space, a
// dot or a dash.
func quoteIdent(name string) string {
	if (name != "" && name[0] >= '0' && name[0] <= '9') || strings.ContainsAny(name, "\"' .-") {
		return "`" + name + "`"
	}
	return name
}

// variableStem turns a source's full name into the stem of the variable
// that holds its rows: every character but an ASCII letter or digit
// becomes "_".
func variableStem(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
}

// Conversions of a string parameter to its declared type. In the
// templates, $P is the parameter's variable, $T a helper variable
// ($P_), $R the parameter's plain name. A value that is already of the
// type (an artifact called from VQL with a dict, a list...) is kept.
var conversions = map[string][]string{
	"upload": {"LET $T <= if(condition=$P, then={\n   SELECT Content FROM http_client(url=$P)\n})",
		"LET $P <= $T.Content[0]"},
	"upload_file": {"LET $T <= if(condition=$P, then={\n   SELECT Content FROM http_client(url=$P, tempfile_extension='.tmp')\n})",
		"LET $P <= $T.Content[0]"},
	"int":       {"LET $P <= int(int=$P)"},
	"float":     {"LET $P <= parse_float(string=$P)"},
	"timestamp": {"LET $P <= timestamp(epoch=$P)"},
	"starlark":  {ifString("=~", "$P <=", "starl(code=$P)")},
	"csv": {"\nLET $P <= SELECT * FROM if(\n    condition=format(format=\"%T\", args=[$P,]) =~ \"string\",\n" +
		"    then={SELECT * FROM parse_csv(filename=$P, accessor='data')},\n    else=$P)\n"},
	"json":       {ifString("=~", "$P <=", "parse_json(data=$P)")},
	"json_array": {ifString("=", "$P <=", "parse_json_array(data=$P)")},
	"xml":        {ifString("=~", "$P <=", `parse_xml(file=$P, accessor="data")`)},
	"yaml":       {ifString("=~", "$P <=", `parse_yaml(filename=$P, accessor="data")`)},
	"bool":       {"LET $P <= get(field='$R') = TRUE OR get(field='$R') =~ '^(Y|TRUE|YES|OK)$' "},
}

func init() {
	conversions["int64"] = conversions["int"]
	conversions["integer"] = conversions["int"]
	conversions["artifactset"] = conversions["csv"]
	conversions["regex_array"] = conversions["json_array"]
	conversions["multichoice"] = conversions["json_array"]
}

// ifString is a conversion applied only when the value is still a
// string (op compares the value's Go type name with "string").
func ifString(op, let, then string) string {
	return "\nLET " + let + " if(\n    condition=format(format=\"%T\", args=[$P,]) " + op + " \"string\",\n" +
		"    then=" + then + ",\n    else=$P)\n"
}

// ParameterVQL returns the statements that convert a parameter (a
// string in the request's env) to its declared type; nothing for a
// type that needs no conversion.
func ParameterVQL(name, paramType string) []string {
	templates := conversions[paramType]
	if templates == nil {
		return nil
	}
	fill := strings.NewReplacer("$T", quoteIdent(name+"_"), "$P", quoteIdent(name), "$R", name)
	out := make([]string, len(templates))
	for i, t := range templates {
		out[i] = fill.Replace(t)
	}
	return out
}

// builder accumulates one request.
type builder struct {
	repo *Repository
	req  *Request
}

func (b *builder) add(name, vql string) {
	b.req.Queries = append(b.req.Queries, &Query{Name: name, VQL: vql})
}

// addParsed adds every statement of vql, reformatted; what names the
// VQL in an error.
func (b *builder) addParsed(what, vql string) error {
	statements, err := vfilter.MultiParse(vql)
	if err != nil {
		return fmt.Errorf("While parsing %s: %w", what, err)
	}
	for _, s := range statements {
		b.add("", format(s))
	}
	return nil
}

func format(statement *vfilter.VQL) string {
	return vfilter.FormatToString(vfilter.NewScope(), statement)
}

// parameters adds each parameter's default to the env and its
// conversion to the queries.
func (b *builder) parameters(a *Artifact) {
	for _, p := range a.Parameters {
		env := &Env{Key: p.Name, Value: p.Default}
		if p.Type == "redacted" {
			env.Comment = "redacted"
		}
		b.req.Env = append(b.req.Env, env)
		for _, vql := range ParameterVQL(p.Name, p.Type) {
			b.add("", vql)
		}
	}
}

// exports adds the artifact's own export, then those of the artifacts
// it imports, in the order listed.
func (b *builder) exports(a *Artifact) error {
	if a.Export != "" {
		if err := b.addParsed("export in "+a.Name, a.Export); err != nil {
			return err
		}
	}
	for _, name := range a.Imports {
		imported, ok := b.repo.Get(name)
		if !ok {
			return fmt.Errorf("Artifact %v imports %v which is not known.", a.Name, name)
		}
		if imported.Export == "" {
			continue
		}
		if err := b.addParsed("export in "+a.Name, imported.Export); err != nil {
			return err
		}
	}
	return nil
}

// sources adds each source: its LET statements as written, its last
// statement as a LET named after the source, then the SELECT whose rows
// are the source's results (behind the precondition when there is one).
func (b *builder) sources(a *Artifact, precondition string) error {
	for i, s := range a.Sources {
		full := SourceFullName(a.Name, s.Name)
		stem := fmt.Sprintf("%s_%d", variableStem(full), i)
		condition := ""
		if precondition != "" {
			condition = "precondition_" + stem
			b.add("", "LET "+condition+" = "+precondition)
		}
		if strings.TrimSpace(s.Query) == "" {
			continue
		}
		statements, err := vfilter.MultiParse(s.Query)
		if err != nil {
			return fmt.Errorf("While parsing source query %v: %w", s.Name, err)
		}
		last := len(statements) - 1
		for _, st := range statements[:last] {
			b.add("", format(st))
		}
		results := fmt.Sprintf("%s_%d", stem, last)
		b.add("", "LET "+results+" = "+format(statements[last]))
		if condition == "" {
			b.add(full, "SELECT * FROM "+results)
			continue
		}
		b.add(full, fmt.Sprintf("SELECT * FROM if(then=%s, condition=%s, else={SELECT * FROM scope() "+
			"WHERE log(message='Query skipped due to precondition') AND FALSE})", results, condition))
	}
	return nil
}

// splitBySource returns the artifacts compiled into separate requests:
// an event artifact and an artifact whose sources carry their own
// preconditions run one request per source (each with that
// precondition); anything else is one request.
func splitBySource(a *Artifact) []*Artifact {
	event := a.Type == "server_event" || a.Type == "client_event"
	if !event {
		if a.Precondition != "" {
			return []*Artifact{a}
		}
		perSource := false
		for _, s := range a.Sources {
			perSource = perSource || s.Precondition != ""
		}
		if !perSource {
			return []*Artifact{a}
		}
	}
	var out []*Artifact
	for _, s := range a.Sources {
		one := a.Clone()
		one.Sources = []*ArtifactSource{s}
		if s.Precondition != "" || !event {
			one.Precondition = s.Precondition
		}
		out = append(out, one)
	}
	return out
}

// Compile turns one artifact (or "Artifact/Source") into the requests
// a client runs for it: one per part splitBySource makes, the
// parameters' defaults overridden by params (strings, as given on a
// command line). Every artifact the VQL calls must be known.
func (repo *Repository) Compile(name string, params []*Env, options CompilerOptions) ([]*Request, error) {
	artifact, ok := repo.Get(name)
	if !ok {
		return nil, fmt.Errorf("Unknown artifact %s", name)
	}
	var out []*Request
	for _, part := range splitBySource(artifact) {
		b := &builder{repo: repo, req: &Request{Artifact: artifact.Name}}
		if artifact.Resources != nil {
			b.req.Timeout = artifact.Resources.Timeout
		}
		precondition := part.Precondition
		if options.DisablePrecondition {
			precondition = ""
		}
		b.req.Precondition = precondition
		b.parameters(part)
		if err := b.exports(part); err != nil {
			return nil, err
		}
		if err := b.sources(part, precondition); err != nil {
			return nil, err
		}
		if _, err := repo.SortedDependencies(b.req); err != nil {
			return nil, err
		}
		for _, p := range params {
			b.req.Env = setParameter(b.req.Env, p)
		}
		out = append(out, b.req)
	}
	return out, nil
}

// setParameter returns env with p's value replacing the parameter of
// the same name (its comment kept), or with p appended; env's entries
// are not modified.
func setParameter(env []*Env, p *Env) []*Env {
	out := append([]*Env(nil), env...)
	for i, e := range out {
		if e.Key == p.Key {
			replaced := *e
			replaced.Value = p.Value
			out[i] = &replaced
			return out
		}
	}
	added := *p
	return append(out, &added)
}

// artifactCall finds calls of artifacts in VQL text: Artifact.Name(.
var artifactCall = regexp.MustCompile(`Artifact\.([^\s\(]+)\(`)

// maxDependencyDepth bounds artifacts calling artifacts (a cycle is
// caught by the seen set; this catches a chain that is merely long).
const maxDependencyDepth = 100

// QueryDependencies adds to found every artifact query calls and,
// transitively, those their sources, preconditions and imported exports
// call; the value is the depth at which each was first found. An
// unknown artifact or import is an error.
func (repo *Repository) QueryDependencies(query string, depth int, found map[string]int) error {
	if depth > maxDependencyDepth {
		return fmt.Errorf("artifact dependencies nest too deeply")
	}
	for _, m := range artifactCall.FindAllStringSubmatch(query, -1) {
		name := m[1]
		called, ok := repo.Get(name)
		if !ok {
			return fmt.Errorf("Unknown artifact reference %s", name)
		}
		if _, seen := found[name]; seen {
			continue
		}
		found[name] = depth
		for _, imp := range called.Imports {
			if _, seen := found[imp]; seen {
				continue
			}
			found[imp] = depth
			imported, ok := repo.Get(imp)
			if !ok {
				return fmt.Errorf("Imported Artifact %v not found (needed by %v)", imp, name)
			}
			// An export is VQL of its own: its depth starts again.
			if err := repo.QueryDependencies(imported.Export, 0, found); err != nil {
				return err
			}
		}
		texts := []string{called.Precondition}
		for _, s := range called.Sources {
			texts = append(texts, s.Precondition, s.Query)
		}
		for _, text := range texts {
			if err := repo.QueryDependencies(text, depth+1, found); err != nil {
				return err
			}
		}
	}
	return nil
}

// SortedDependencies lists, sorted, the artifacts a request's queries
// call (directly or through other artifacts).
func (repo *Repository) SortedDependencies(request *Request) ([]string, error) {
	found := make(map[string]int)
	for _, q := range request.Queries {
		if err := repo.QueryDependencies(q.VQL, 0, found); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
