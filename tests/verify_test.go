package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/host"
)

// Each file in tests/bad_artifacts breaks one rule; verify must fail
// it with a message naming the artifact (and source) and the fault.
var badArtifacts = map[string]string{
	"schema_unknown_key.yaml":     "Test.Bad.SchemaUnknownKey: invalid artifact YAML (outside Velociraptor's artifact schema): yaml: unmarshal errors:\n  line 4: field colour not found in type artifacts.ArtifactSource",
	"vql_syntax.yaml":             `Test.Bad.VqlSyntax/Main: While parsing source query: 1:15: unexpected token "WHERE"`,
	"not_let.yaml":                "Test.Bad.NotLet/Main: Invalid artifact Test.Bad.NotLet: All Queries in a source must be LET queries, except for the final one.",
	"unknown_plugin.yaml":         "Test.Bad.UnknownPlugin/Main: query: Unknown plugin no_such_plugin()",
	"unknown_function.yaml":       "Test.Bad.UnknownFunction/Main: query: Unknown function no_such_function()",
	"bad_plugin_arg.yaml":         "Test.Bad.PluginArg/Main: query: Invalid arg stepp for plugin range()",
	"bad_function_arg.yaml":       "Test.Bad.FunctionArg/Main: query: Invalid arg argz for function format()",
	"missing_required_arg.yaml":   "Test.Bad.MissingRequiredArg/Main: query: While calling function format(), required arg format is not provided",
	"bad_definition_arg.yaml":     "Test.Bad.DefinitionArg/Main: query: Invalid arg Y for VQL definition Twice",
	"unresolved_import.yaml":      "Test.Bad.UnresolvedImport: invalid import: Artifact Test.No.Such not found",
	"unknown_artifact_call.yaml":  "Test.Bad.UnknownArtifactCall/Main: query: Unknown artifact reference Test.No.Such",
	"bad_artifact_param.yaml":     "Test.Bad.ArtifactParam/Main: query: Call to Artifact.Test.Azvql.Smoke contains unknown parameter Nope",
	"unknown_param_type.yaml":     `Test.Bad.ParamType: parameter Flag: unknown parameter type "boolean"`,
	"unsupported_param_type.yaml": "Test.Bad.UnsupportedParamType: parameter Code (type starlark): Unknown function starl()",
}

func verifyDir(t *testing.T, dir string) []*artifacts.FileReport {
	t.Helper()
	base, errs := artifacts.NewStandardRepository([]string{"artifacts_fixtures"})
	for _, err := range errs {
		t.Logf("loading: %v", err)
	}
	defs, err := artifacts.DirDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	scope := host.NewScope(host.Options{})
	defer scope.Close()
	artifacts.Install(scope, base)
	return artifacts.VerifyDefinitions(base, artifacts.DescribeScope(scope), defs)
}

func TestVerifyBadArtifacts(t *testing.T) {
	reports := verifyDir(t, "bad_artifacts")
	seen := map[string]bool{}
	for _, r := range reports {
		name := filepath.Base(r.Path)
		seen[name] = true
		want, ok := badArtifacts[name]
		if !ok {
			t.Errorf("%s: no expected message in badArtifacts", name)
			continue
		}
		var got []string
		for _, err := range r.Errors {
			got = append(got, err.Error())
		}
		if len(got) == 0 {
			t.Errorf("%s: verified OK, want error %q", name, want)
			continue
		}
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
	for name := range badArtifacts {
		if !seen[name] {
			t.Errorf("%s: missing from tests/bad_artifacts", name)
		}
	}
}

// The test-only artifacts must themselves verify.
func TestVerifyFixtureArtifacts(t *testing.T) {
	for _, r := range verifyDir(t, "artifacts_fixtures") {
		for _, err := range r.Errors {
			t.Errorf("%s: %v", r.Path, err)
		}
	}
}

// Every artifact embedded in the binary must verify (as `vql artifacts
// verify` does in make test).
func TestVerifyEmbeddedArtifacts(t *testing.T) {
	base, _ := artifacts.NewStandardRepository(nil)
	defs, err := artifacts.EmbeddedDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	scope := host.NewScope(host.Options{})
	defer scope.Close()
	artifacts.Install(scope, base)
	for _, r := range artifacts.VerifyDefinitions(base, artifacts.DescribeScope(scope), defs) {
		for _, err := range r.Errors {
			t.Errorf("%s: %v", r.Path, err)
		}
	}
}
