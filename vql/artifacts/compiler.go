package artifacts

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"www.velocidex.com/golang/vfilter"
)

// Env is one parameter passed to a request (actions_proto.VQLEnv).
type Env struct {
	Key     string
	Value   string
	Comment string
}

// Query is one VQL statement of a request (actions_proto.VQLRequest).
// Name is set on the statement whose rows are the results of a
// source: "Artifact" or "Artifact/Source".
type Query struct {
	Name string
	VQL  string
}

// Request is a compiled artifact (actions_proto.VQLCollectorArgs):
// the parameters become Env (strings), the type conversions, exports,
// imports and sources become Queries, run in order in one scope.
type Request struct {
	Artifact     string
	Env          []*Env
	Precondition string
	Queries      []*Query

	// Timeout is resources.timeout in seconds (0: none).
	Timeout uint64
}

// CompilerOptions mirrors services.CompilerOptions.
type CompilerOptions struct {
	DisablePrecondition bool
}

var (
	artifact_in_query_regex = regexp.MustCompile(`Artifact\.([^\s\(]+)\(`)
	escape_regex            = regexp.MustCompile("(^[0-9]|[\"' .-])")
	escape_name_regex       = regexp.MustCompile("[^a-zA-Z0-9]")
)

func escape_name(name string) string {
	return escape_name_regex.ReplaceAllString(name, "_")
}

func maybeEscape(name string) string {
	if escape_regex.FindString(name) != "" {
		return "`" + name + "`"
	}
	return name
}

func formatVQL(vql *vfilter.VQL) string {
	return vfilter.FormatToString(vfilter.NewScope(), vql)
}

// ParameterVQL returns the LET statements Velociraptor's compiler
// emits to convert a parameter (always a string in the env) to its
// declared type, copied from CompileSingleArtifact. Types with no
// conversion return nothing.
func ParameterVQL(name, param_type string) []string {
	escaped_name := maybeEscape(name)
	switch param_type {
	case "upload":
		return []string{
			fmt.Sprintf(`LET %v <= if(condition=%v, then={
   SELECT Content FROM http_client(url=%v)
})`, maybeEscape(name+"_"), escaped_name, escaped_name),
			fmt.Sprintf("LET %v <= %v.Content[0]", escaped_name, maybeEscape(name+"_")),
		}

	case "upload_file":
		return []string{
			fmt.Sprintf(`LET %v <= if(condition=%v, then={
   SELECT Content FROM http_client(url=%v, tempfile_extension='.tmp')
})`, maybeEscape(name+"_"), escaped_name, escaped_name),
			fmt.Sprintf("LET %v <= %v.Content[0]", escaped_name, maybeEscape(name+"_")),
		}

	case "int", "int64", "integer":
		return []string{fmt.Sprintf("LET %v <= int(int=%v)", escaped_name, escaped_name)}

	case "float":
		return []string{fmt.Sprintf("LET %v <= parse_float(string=%v)", escaped_name, escaped_name)}

	case "timestamp":
		return []string{fmt.Sprintf("LET %v <= timestamp(epoch=%v)", escaped_name, escaped_name)}

	case "starlark":
		return []string{fmt.Sprintf(`
LET %v <= if(
    condition=format(format="%%T", args=[%v,]) =~ "string",
    then=starl(code=%v),
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "csv", "artifactset":
		return []string{fmt.Sprintf(`
LET %v <= SELECT * FROM if(
    condition=format(format="%%T", args=[%v,]) =~ "string",
    then={SELECT * FROM parse_csv(filename=%v, accessor='data')},
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "json":
		return []string{fmt.Sprintf(`
LET %v <= if(
    condition=format(format="%%T", args=[%v,]) =~ "string",
    then=parse_json(data=%v),
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "json_array", "regex_array", "multichoice":
		return []string{fmt.Sprintf(`
LET %v <= if(
    condition=format(format="%%T", args=[%v,]) = "string",
    then=parse_json_array(data=%v),
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "xml":
		return []string{fmt.Sprintf(`
LET %v <= if(
    condition=format(format="%%T", args=[%v,]) =~ "string",
    then=parse_xml(file=%v, accessor="data"),
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "yaml":
		return []string{fmt.Sprintf(`
LET %v <= if(
    condition=format(format="%%T", args=[%v,]) =~ "string",
    then=parse_yaml(filename=%v, accessor="data"),
    else=%v)
`, escaped_name, escaped_name, escaped_name, escaped_name)}

	case "bool":
		return []string{fmt.Sprintf("LET %v <= get(field='%v') = TRUE OR get(field='%v') =~ '^(Y|TRUE|YES|OK)$' ",
			escaped_name, name, name)}
	}
	return nil
}

// compileSingleArtifact is CompileSingleArtifact: parameter env and
// conversions, then imports/exports, then the sources.
func (self *Repository) compileSingleArtifact(
	options CompilerOptions, artifact *Artifact, result *Request) error {
	for _, parameter := range artifact.Parameters {
		env := &Env{Key: parameter.Name, Value: parameter.Default}
		if parameter.Type == "redacted" {
			env.Comment = "redacted"
		}
		for _, vql := range ParameterVQL(parameter.Name, parameter.Type) {
			result.Queries = append(result.Queries, &Query{VQL: vql})
		}
		result.Env = append(result.Env, env)
	}

	if err := self.resolveImports(artifact, result); err != nil {
		return err
	}
	return mergeSources(options, artifact, result)
}

func (self *Repository) resolveImports(artifact *Artifact, result *Request) error {
	// Each artifact imports its own export first.
	if artifact.Export != "" {
		queries, err := vfilter.MultiParse(artifact.Export)
		if err != nil {
			return fmt.Errorf("While parsing export in %s: %w", artifact.Name, err)
		}
		for _, q := range queries {
			result.Queries = append(result.Queries, &Query{VQL: formatVQL(q)})
		}
	}

	for _, imported := range artifact.Imports {
		dependent, pres := self.Get(imported)
		if !pres {
			return fmt.Errorf("Artifact %v imports %v which is not known.",
				artifact.Name, imported)
		}
		if dependent.Export != "" {
			queries, err := vfilter.MultiParse(dependent.Export)
			if err != nil {
				return fmt.Errorf("While parsing export in %s: %w", artifact.Name, err)
			}
			for _, q := range queries {
				result.Queries = append(result.Queries, &Query{VQL: formatVQL(q)})
			}
		}
	}
	return nil
}

func mergeSources(options CompilerOptions, artifact *Artifact, result *Request) error {
	precondition := artifact.Precondition
	precondition_var := ""
	if options.DisablePrecondition {
		precondition = ""
	}
	result.Precondition = precondition

	for idx, source := range artifact.Sources {
		name := artifact.Name
		if source.Name != "" {
			name = path.Join(name, source.Name)
		}

		prefix := fmt.Sprintf("%s_%d", escape_name(name), idx)
		source_result := ""

		if precondition != "" {
			precondition_var = "precondition_" + prefix
			result.Queries = append(result.Queries, &Query{
				VQL: "LET " + precondition_var + " = " + precondition,
			})
		}

		// An empty query is not an error.
		if strings.TrimSpace(source.Query) == "" {
			continue
		}

		queries, err := vfilter.MultiParse(source.Query)
		if err != nil {
			return fmt.Errorf("While parsing source query %v: %w", source.Name, err)
		}

		for idx2, vql := range queries {
			query_name := fmt.Sprintf("%s_%d", prefix, idx2)
			if idx2 < len(queries)-1 {
				result.Queries = append(result.Queries, &Query{VQL: formatVQL(vql)})
			} else {
				result.Queries = append(result.Queries, &Query{
					VQL: "LET " + query_name + " = " + formatVQL(vql),
				})
			}
			source_result = query_name
		}

		if precondition != "" {
			result.Queries = append(result.Queries, &Query{
				Name: name,
				VQL: fmt.Sprintf(
					"SELECT * FROM if(then=%s, condition=%s, else={SELECT * FROM scope() WHERE log(message='Query skipped due to precondition') AND FALSE})",
					source_result, precondition_var),
			})
		} else {
			result.Queries = append(result.Queries, &Query{
				Name: name,
				VQL:  "SELECT * FROM " + source_result,
			})
		}
	}
	return nil
}

// expandArtifacts splits an artifact with source preconditions (or an
// event artifact) into one single-source artifact per source
// (launcher.go expandArtifacts).
func expandArtifacts(artifact *Artifact) []*Artifact {
	if artifact.Type == "server_event" || artifact.Type == "client_event" {
		result := []*Artifact{}
		for _, source := range artifact.Sources {
			n := artifact.Clone()
			n.Sources = []*ArtifactSource{source}
			if source.Precondition != "" {
				n.Precondition = source.Precondition
			}
			result = append(result, n)
		}
		return result
	}

	if artifact.Precondition != "" {
		return []*Artifact{artifact}
	}

	has_source_precondition := false
	for _, source := range artifact.Sources {
		if source.Precondition != "" {
			has_source_precondition = true
			break
		}
	}
	if !has_source_precondition {
		return []*Artifact{artifact}
	}

	result := []*Artifact{}
	for _, source := range artifact.Sources {
		n := artifact.Clone()
		n.Sources = []*ArtifactSource{source}
		n.Precondition = source.Precondition
		result = append(result, n)
	}
	return result
}

// QueryDependencies finds the artifacts a query calls (Artifact.X(...))
// and, recursively, theirs (GetQueryDependencies). An unknown
// reference is an error.
func (self *Repository) QueryDependencies(
	query string, depth int, dependency map[string]int) error {
	if depth > 100 {
		return fmt.Errorf("artifact dependencies nest too deeply")
	}
	for _, hit := range artifact_in_query_regex.FindAllStringSubmatch(query, -1) {
		artifact_name := hit[1]
		dep, pres := self.Get(artifact_name)
		if !pres {
			return fmt.Errorf("Unknown artifact reference %s", artifact_name)
		}

		if _, pres := dependency[artifact_name]; pres {
			continue
		}
		dependency[artifact_name] = depth

		for _, imp := range dep.Imports {
			if _, pres := dependency[imp]; pres {
				continue
			}
			dependency[imp] = depth
			imported, pres := self.Get(imp)
			if !pres {
				return fmt.Errorf("Imported Artifact %v not found (needed by %v)",
					imp, artifact_name)
			}
			if err := self.QueryDependencies(imported.Export, 0, dependency); err != nil {
				return err
			}
		}

		if err := self.QueryDependencies(dep.Precondition, depth+1, dependency); err != nil {
			return err
		}
		for _, source := range dep.Sources {
			if err := self.QueryDependencies(source.Precondition, depth+1, dependency); err != nil {
				return err
			}
			if err := self.QueryDependencies(source.Query, depth+1, dependency); err != nil {
				return err
			}
		}
	}
	return nil
}

// Compile turns one artifact (or "Artifact/Source") into the requests
// Velociraptor's launcher would send (CompileCollectorArgs for one
// spec): one request per expanded artifact, parameters overridden by
// params (already strings, as in an ArtifactSpec).
func (self *Repository) Compile(name string, params []*Env,
	options CompilerOptions) ([]*Request, error) {
	artifact, pres := self.Get(name)
	if !pres {
		return nil, fmt.Errorf("Unknown artifact %s", name)
	}

	var result []*Request
	for _, expanded := range expandArtifacts(artifact) {
		request := &Request{Artifact: artifact.Name}
		if artifact.Resources != nil {
			request.Timeout = artifact.Resources.Timeout
		}
		if err := self.compileSingleArtifact(options, expanded, request); err != nil {
			return nil, err
		}

		// Dependencies must resolve (PopulateArtifactsVQLCollectorArgs).
		dependencies := make(map[string]int)
		for _, q := range request.Queries {
			if err := self.QueryDependencies(q.VQL, 0, dependencies); err != nil {
				return nil, err
			}
		}

		// AddArtifactCollectorArgs: the spec replaces defaults.
		for _, p := range params {
			request.Env = addOrReplaceParameter(p, request.Env)
		}
		result = append(result, request)
	}
	return result, nil
}

func addOrReplaceParameter(param *Env, env []*Env) []*Env {
	result := append([]*Env(nil), env...)
	for i, item := range result {
		if item.Key == param.Key {
			c := *item
			c.Value = param.Value
			result[i] = &c
			return result
		}
	}
	c := *param
	return append(result, &c)
}

// SortedDependencies lists the artifacts a request depends on.
func (self *Repository) SortedDependencies(request *Request) ([]string, error) {
	dependencies := make(map[string]int)
	for _, q := range request.Queries {
		if err := self.QueryDependencies(q.VQL, 0, dependencies); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(dependencies))
	for k := range dependencies {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}
