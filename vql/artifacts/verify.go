package artifacts

import (
	"fmt"
	"sort"
	"strings"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// The verifier checks an artifact's VQL without running it: every
// plugin and function called exists in the API it is checked against,
// with arguments it declares and its required ones given; every
// artifact called exists and takes the parameters passed; a local
// definition (LET X(a) = ...) is called with exactly its parameters.
// The messages are those `velociraptor artifacts verify` prints, so the
// two verifiers can be compared on the same files.

// callable is what the verifier knows of one plugin or function.
type callable struct {
	args    map[string]bool // argument name -> required
	anyArgs bool            // takes any argument (dict(), chain()...)
}

func newCallable(names []string, required []bool, anyArgs bool) callable {
	// ** (a dict of arguments) is accepted by every call.
	c := callable{args: map[string]bool{"**": false}, anyArgs: anyArgs}
	for i, n := range names {
		c.args[n] = i < len(required) && required[i]
	}
	return c
}

// ApiDescription is the API VQL is verified against: the plugins and
// functions of a host.
type ApiDescription struct {
	functions map[string]callable
	plugins   map[string]callable
}

// NewApiDescription returns an empty API, to be filled with AddPlugin
// and AddFunction from another host's list (stock Velociraptor's).
func NewApiDescription() *ApiDescription {
	return &ApiDescription{functions: map[string]callable{}, plugins: map[string]callable{}}
}

// AddPlugin declares a plugin with its args (required[i] says whether
// args[i] is required); anyArgs plugins take any args.
func (api *ApiDescription) AddPlugin(name string, args []string, required []bool, anyArgs bool) {
	api.plugins[name] = newCallable(args, required, anyArgs)
}

// AddFunction declares a function, as AddPlugin.
func (api *ApiDescription) AddFunction(name string, args []string, required []bool, anyArgs bool) {
	api.functions[name] = newCallable(args, required, anyArgs)
}

// DescribeScope is the API of the scope queries really run in, so a
// call to anything the host lacks is caught.
func DescribeScope(scope vfilter.Scope) *ApiDescription {
	typeMap := types.NewTypeMap()
	info := scope.Describe(typeMap)
	api := NewApiDescription()
	for _, p := range info.Plugins {
		api.plugins[p.Name] = callableOf(scope, typeMap, p.ArgType, p.FreeFormArgs)
	}
	for _, f := range info.Functions {
		api.functions[f.Name] = callableOf(scope, typeMap, f.ArgType, f.FreeFormArgs)
	}
	return api
}

// callableOf reads a callable's arguments from its argument type. With
// no type its arguments are unknown (vfilter's chain() takes any name),
// so they are not checked.
func callableOf(scope vfilter.Scope, typeMap *types.TypeMap, argType string, anyArgs bool) callable {
	var desc *types.TypeDescription
	if argType != "" {
		desc, _ = typeMap.Get(scope, argType)
	}
	if desc == nil {
		return newCallable(nil, nil, true)
	}
	var names []string
	var required []bool
	for _, item := range desc.Fields.Items() {
		names = append(names, item.Key)
		ref, ok := item.Value.(*types.TypeReference)
		required = append(required, ok && hasOption(ref.Tag, "required"))
	}
	return newCallable(names, required, anyArgs)
}

// hasOption is true when a vfilter tag lists opt (a bare word).
func hasOption(tag, opt string) bool {
	for _, o := range strings.Split(tag, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// AnalysisState collects the errors for one artifact, and the local
// definitions its VQL makes.
type AnalysisState struct {
	Artifact    string
	Errors      []error
	Definitions map[string]vfilter.CallSite
}

// NewAnalysisState starts the analysis of one artifact or file.
func NewAnalysisState(artifact string) *AnalysisState {
	return &AnalysisState{Artifact: artifact, Definitions: map[string]vfilter.CallSite{}}
}

// SetError records an error.
func (s *AnalysisState) SetError(err error) { s.Errors = append(s.Errors, err) }

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// VerifyCallSite checks one plugin or function call.
func (api *ApiDescription) VerifyCallSite(repo *Repository, call vfilter.CallSite, state *AnalysisState) []error {
	if name, ok := strings.CutPrefix(call.Name, "Artifact."); ok {
		return verifyArtifactCall(repo, name, call)
	}
	// A dotted name we know nothing about is not an error.
	if strings.Contains(call.Name, ".") {
		return nil
	}
	known := api.plugins
	if call.Type == "function" {
		known = api.functions
	} else if call.Type != "plugin" {
		return nil
	}
	c, ok := known[call.Name]
	if !ok {
		return verifyLocalCall(call, state)
	}
	return verifyArgs(call, c)
}

// verifyArtifactCall checks Artifact.Name(...): the artifact exists and
// declares every parameter passed (besides source= and preconditions=).
func verifyArtifactCall(repo *Repository, name string, call vfilter.CallSite) []error {
	a, ok := repo.Get(name)
	if !ok {
		return []error{fmt.Errorf("Query calls Unknown artifact %v", name)}
	}
	accepted := []string{"source", "preconditions"}
	for _, p := range a.Parameters {
		accepted = append(accepted, p.Name)
	}
	var errs []error
	for _, arg := range call.Args {
		if !has(accepted, arg) {
			errs = append(errs, fmt.Errorf("Call to %v contains unknown parameter %v", call.Name, arg))
		}
	}
	return errs
}

// verifyLocalCall checks a call of something the API lacks: it must be
// a local definition, called with exactly its parameters.
func verifyLocalCall(call vfilter.CallSite, state *AnalysisState) []error {
	def, ok := state.Definitions[call.Name]
	if !ok {
		return []error{fmt.Errorf("Unknown %s %v()", call.Type, call.Name)}
	}
	var errs []error
	for _, arg := range call.Args {
		if !has(def.Args, arg) {
			errs = append(errs, fmt.Errorf("Invalid arg %v for VQL definition %v", arg, call.Name))
		}
	}
	for _, arg := range def.Args {
		if !has(call.Args, arg) {
			errs = append(errs, fmt.Errorf("While calling VQL definition %v(), required arg %v is not provided",
				call.Name, arg))
		}
	}
	return errs
}

// verifyArgs checks a call's arguments against what c declares; missing
// required ones are reported in name order.
func verifyArgs(call vfilter.CallSite, c callable) []error {
	if c.anyArgs {
		return nil
	}
	var errs []error
	for _, arg := range call.Args {
		if _, ok := c.args[arg]; !ok {
			errs = append(errs, fmt.Errorf("Invalid arg %v for %s %v()", arg, call.Type, call.Name))
		}
	}
	var missing []string
	for arg, required := range c.args {
		if required && !has(call.Args, arg) {
			missing = append(missing, arg)
		}
	}
	sort.Strings(missing)
	for _, arg := range missing {
		errs = append(errs, fmt.Errorf("While calling %s %v(), required arg %v is not provided",
			call.Type, call.Name, arg))
	}
	return errs
}

// callSites returns the call sites and the definitions of one statement.
func callSites(scope vfilter.Scope, statement *vfilter.VQL) ([]vfilter.CallSite, []vfilter.CallSite) {
	v := vfilter.NewVisitor(scope, vfilter.CollectCallSites)
	v.Visit(statement)
	return v.CallSites, v.Definitions
}

// VerifyVQL parses query and checks every call site. Definitions are
// collected first: VQL may use one before the statement that makes it.
func (api *ApiDescription) VerifyVQL(repo *Repository, query string, state *AnalysisState) []error {
	statements, err := vfilter.MultiParse(query)
	if err != nil {
		return []error{err}
	}
	scope := vfilter.NewScope()
	for _, st := range statements {
		_, defs := callSites(scope, st)
		for _, d := range defs {
			state.Definitions[d.Name] = d
		}
	}
	var errs []error
	for _, st := range statements {
		calls, _ := callSites(scope, st)
		for _, c := range calls {
			errs = append(errs, api.VerifyCallSite(repo, c, state)...)
		}
	}
	return errs
}

// VerifyArtifact checks every piece of VQL of an artifact, in the order
// the compiler emits it (an import's export before the artifact's own,
// both before the sources), and its parameter types. Every error names
// the artifact (and source) it is about.
func (api *ApiDescription) VerifyArtifact(repo *Repository, a *Artifact, state *AnalysisState) {
	report := func(where string, errs []error) {
		for _, err := range errs {
			state.SetError(fmt.Errorf("%v: %w", where, err))
		}
	}

	for _, p := range a.Parameters {
		if !KnownParameterTypes[p.Type] {
			state.SetError(fmt.Errorf(
				"%v: parameter %v: unknown parameter type %q (Velociraptor would treat it as a string)",
				a.Name, p.Name, p.Type))
			continue
		}
		// The conversion the compiler emits must run in this host
		// (e.g. xml needs parse_xml()).
		for _, vql := range ParameterVQL(p.Name, p.Type) {
			report(fmt.Sprintf("%v: parameter %v (type %v)", a.Name, p.Name, p.Type),
				api.VerifyVQL(repo, vql, NewAnalysisState(a.Name)))
		}
	}

	var preamble strings.Builder
	for _, name := range a.Imports {
		imported, ok := repo.Get(name)
		switch {
		case !ok:
			state.SetError(fmt.Errorf("%v: invalid import: Artifact %v not found", a.Name, name))
		case imported.Export == "":
			state.SetError(fmt.Errorf("%v: invalid import: Artifact %v does not export anything", a.Name, name))
		default:
			preamble.WriteString(imported.Export + "\n")
		}
	}

	if a.Precondition != "" {
		report(a.Name+": precondition", api.VerifyVQL(repo, a.Precondition, state))
	}
	if a.Export != "" {
		report(a.Name+": export", api.VerifyVQL(repo, preamble.String()+a.Export, state))
		preamble.WriteString(a.Export + "\n")
	}

	for _, s := range a.Sources {
		name := SourceFullName(a.Name, s.Name)
		if s.Query != "" {
			query := preamble.String() + s.Query
			if err := repo.QueryDependencies(query, 0, map[string]int{}); err != nil {
				state.SetError(fmt.Errorf("%v: query: %w", name, err))
				continue
			}
			report(name+": query", api.VerifyVQL(repo, query, state))
		}
		if s.Precondition != "" {
			report(name+": precondition", api.VerifyVQL(repo, s.Precondition, state))
		}
	}
}
