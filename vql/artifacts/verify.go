package artifacts

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// callDescriptor is what the verifier knows about one plugin or
// function: its args and which are required (CallDesciptor in
// services/launcher/verifier.go).
type callDescriptor struct {
	ArgsRequired map[string]bool
	FreeFormArgs bool
}

// ApiDescription lists the plugins and functions of a scope.
// Velociraptor reads its API from docs/references/vql.yaml; the vql
// host describes the scope it really runs queries in, so a call to
// anything the host lacks is caught.
type ApiDescription struct {
	functions map[string]callDescriptor
	plugins   map[string]callDescriptor
}

var required_regex = regexp.MustCompile(`(^|,)required(,|$)`)

func describeArgs(type_map *types.TypeMap, scope vfilter.Scope,
	arg_type string, free_form bool) callDescriptor {
	desc := callDescriptor{
		ArgsRequired: map[string]bool{"**": false},
		FreeFormArgs: free_form,
	}
	// No arg type: we can not know the args (e.g. vfilter's
	// chain() takes any name), so do not check them.
	if arg_type == "" {
		desc.FreeFormArgs = true
		return desc
	}
	td, pres := type_map.Get(scope, arg_type)
	if !pres || td == nil {
		desc.FreeFormArgs = true
		return desc
	}
	for _, k := range td.Fields.Keys() {
		v, _ := td.Fields.Get(k)
		required := false
		if ref, ok := v.(*types.TypeReference); ok {
			required = required_regex.MatchString(ref.Tag)
		}
		desc.ArgsRequired[k] = required
	}
	return desc
}

// DescribeScope builds the API description of a scope.
func DescribeScope(scope vfilter.Scope) *ApiDescription {
	type_map := types.NewTypeMap()
	info := scope.Describe(type_map)
	res := &ApiDescription{
		functions: make(map[string]callDescriptor),
		plugins:   make(map[string]callDescriptor),
	}
	for _, p := range info.Plugins {
		res.plugins[p.Name] = describeArgs(type_map, scope, p.ArgType, p.FreeFormArgs)
	}
	for _, f := range info.Functions {
		res.functions[f.Name] = describeArgs(type_map, scope, f.ArgType, f.FreeFormArgs)
	}
	return res
}

// AnalysisState collects the errors for one artifact.
type AnalysisState struct {
	Artifact    string
	Errors      []error
	Definitions map[string]vfilter.CallSite
}

// NewAnalysisState starts the analysis of one artifact or file.
func NewAnalysisState(artifact string) *AnalysisState {
	return &AnalysisState{
		Artifact:    artifact,
		Definitions: make(map[string]vfilter.CallSite),
	}
}

// SetError records an error.
func (self *AnalysisState) SetError(err error) {
	self.Errors = append(self.Errors, err)
}

func inString(list []string, s string) bool {
	for _, i := range list {
		if i == s {
			return true
		}
	}
	return false
}

func (self *ApiDescription) verifyArtifactCall(repository *Repository,
	artifact_name string, callsite vfilter.CallSite) (res []error) {
	artifact, pres := repository.Get(artifact_name)
	if !pres {
		return []error{fmt.Errorf("Query calls Unknown artifact %v", artifact_name)}
	}

	parameters := map[string]bool{"source": true, "preconditions": true}
	for _, p := range artifact.Parameters {
		parameters[p.Name] = true
	}
	for _, arg := range callsite.Args {
		if !parameters[arg] {
			res = append(res, fmt.Errorf("Call to %v contains unknown parameter %v",
				callsite.Name, arg))
		}
	}
	return res
}

func checkDefinition(callsite vfilter.CallSite, state *AnalysisState,
	kind string) (res []error) {
	def, pres := state.Definitions[callsite.Name]
	if !pres {
		return []error{fmt.Errorf("Unknown %s %v()", kind, callsite.Name)}
	}
	for _, arg := range callsite.Args {
		if !inString(def.Args, arg) {
			res = append(res, fmt.Errorf("Invalid arg %v for VQL definition %v",
				arg, callsite.Name))
		}
	}
	for _, arg := range def.Args {
		if !inString(callsite.Args, arg) {
			res = append(res, fmt.Errorf(
				"While calling VQL definition %v(), required arg %v is not provided",
				callsite.Name, arg))
		}
	}
	return res
}

func checkArgs(callsite vfilter.CallSite, desc callDescriptor, kind string) (res []error) {
	if desc.FreeFormArgs {
		return nil
	}
	for _, arg := range callsite.Args {
		if _, pres := desc.ArgsRequired[arg]; !pres {
			res = append(res, fmt.Errorf("Invalid arg %v for %s %v()",
				arg, kind, callsite.Name))
		}
	}
	var required []string
	for arg, req := range desc.ArgsRequired {
		if req && !inString(callsite.Args, arg) {
			required = append(required, arg)
		}
	}
	sort.Strings(required)
	for _, arg := range required {
		res = append(res, fmt.Errorf("While calling %s %v(), required arg %v is not provided",
			kind, callsite.Name, arg))
	}
	return res
}

// VerifyCallSite checks one plugin or function call.
func (self *ApiDescription) VerifyCallSite(repository *Repository,
	callsite vfilter.CallSite, state *AnalysisState) []error {

	if strings.HasPrefix(callsite.Name, "Artifact.") {
		return self.verifyArtifactCall(repository,
			strings.TrimPrefix(callsite.Name, "Artifact."), callsite)
	}

	// A dotted name we know nothing about is not an error.
	if strings.Contains(callsite.Name, ".") {
		return nil
	}

	switch callsite.Type {
	case "plugin":
		desc, pres := self.plugins[callsite.Name]
		if !pres {
			return checkDefinition(callsite, state, "plugin")
		}
		return checkArgs(callsite, desc, "plugin")

	case "function":
		desc, pres := self.functions[callsite.Name]
		if !pres {
			return checkDefinition(callsite, state, "function")
		}
		return checkArgs(callsite, desc, "function")
	}
	return nil
}

// VerifyVQL parses query and checks every call site (VerifyVQL).
func (self *ApiDescription) VerifyVQL(repository *Repository, query string,
	state *AnalysisState) (res []error) {
	scope := vfilter.NewScope()
	vqls, err := vfilter.MultiParse(query)
	if err != nil {
		return []error{err}
	}

	// Definitions may come after their use: collect them first.
	for _, vql := range vqls {
		visitor := vfilter.NewVisitor(scope, vfilter.CollectCallSites)
		visitor.Visit(vql)
		for _, def := range visitor.Definitions {
			state.Definitions[def.Name] = def
		}
	}

	for _, vql := range vqls {
		visitor := vfilter.NewVisitor(scope, vfilter.CollectCallSites)
		visitor.Visit(vql)
		for _, cs := range visitor.CallSites {
			res = append(res, self.VerifyCallSite(repository, cs, state)...)
		}
	}
	return res
}

// VerifyArtifact is launcher.VerifyArtifact plus a check of parameter
// types: every error names the artifact (and source) it is about.
func (self *ApiDescription) VerifyArtifact(repository *Repository,
	artifact *Artifact, state *AnalysisState) {

	for _, p := range artifact.Parameters {
		if !KnownParameterTypes[p.Type] {
			state.SetError(fmt.Errorf(
				"%v: parameter %v: unknown parameter type %q (Velociraptor would treat it as a string)",
				artifact.Name, p.Name, p.Type))
			continue
		}
		// The conversion the compiler emits must run in this host
		// (e.g. xml needs parse_xml()).
		for _, vql := range ParameterVQL(p.Name, p.Type) {
			for _, err := range self.VerifyVQL(repository, vql, NewAnalysisState(artifact.Name)) {
				state.SetError(fmt.Errorf("%v: parameter %v (type %v): %w",
					artifact.Name, p.Name, p.Type, err))
			}
		}
	}

	preamble := ""
	for _, imp := range artifact.Imports {
		dep, pres := repository.Get(imp)
		if !pres {
			state.SetError(fmt.Errorf(
				"%v: invalid import: Artifact %v not found", artifact.Name, imp))
		} else if dep.Export == "" {
			state.SetError(fmt.Errorf(
				"%v: invalid import: Artifact %v does not export anything",
				artifact.Name, imp))
		} else {
			preamble += dep.Export + "\n"
		}
	}

	if artifact.Precondition != "" {
		for _, err := range self.VerifyVQL(repository, artifact.Precondition, state) {
			state.SetError(fmt.Errorf("%v: precondition: %w", artifact.Name, err))
		}
	}

	if artifact.Export != "" {
		for _, err := range self.VerifyVQL(repository, preamble+artifact.Export, state) {
			state.SetError(fmt.Errorf("%v: export: %w", artifact.Name, err))
		}
		preamble += artifact.Export + "\n"
	}

	for _, s := range artifact.Sources {
		name := SourceFullName(artifact.Name, s.Name)

		if s.Query != "" {
			query := preamble + s.Query
			dependency := make(map[string]int)
			if err := repository.QueryDependencies(query, 0, dependency); err != nil {
				state.SetError(fmt.Errorf("%v: query: %w", name, err))
				continue
			}
			for _, err := range self.VerifyVQL(repository, query, state) {
				state.SetError(fmt.Errorf("%v: query: %w", name, err))
			}
		}

		if s.Precondition != "" {
			for _, err := range self.VerifyVQL(repository, s.Precondition, state) {
				state.SetError(fmt.Errorf("%v: precondition: %w", name, err))
			}
		}
	}
}
