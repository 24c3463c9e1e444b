package artifacts

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	azartifacts "github.com/azvql/azvql/artifacts"
)

// Definition is one artifact file to load or verify.
type Definition struct {
	Path    string // "embedded:Linux/Azure/RunCommand.yaml" or a file path
	Data    []byte
	BuiltIn bool
}

// EmbeddedDefinitions lists the artifacts compiled into the binary.
func EmbeddedDefinitions() ([]Definition, error) {
	return fsDefinitions(azartifacts.FS(), "embedded:", true)
}

func fsDefinitions(fsys fs.FS, prefix string, builtin bool) ([]Definition, error) {
	var res []Definition
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isYaml(path) {
			return nil
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		res = append(res, Definition{Path: prefix + path, Data: data, BuiltIn: builtin})
		return nil
	})
	return res, err
}

// DirDefinitions lists the *.yaml files under dir, recursively.
func DirDefinitions(dir string) ([]Definition, error) {
	var res []Definition
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isYaml(path) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		res = append(res, Definition{Path: path, Data: data})
		return nil
	})
	sort.Slice(res, func(i, j int) bool { return res[i].Path < res[j].Path })
	return res, err
}

// FileDefinition reads one artifact file.
func FileDefinition(path string) (Definition, error) {
	data, err := os.ReadFile(path)
	return Definition{Path: path, Data: data}, err
}

// AllDefinitions is the embedded artifacts followed by those under
// each of dirs (--definitions).
func AllDefinitions(dirs []string) ([]Definition, error) {
	defs, err := EmbeddedDefinitions()
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		more, err := DirDefinitions(dir)
		if err != nil {
			return nil, fmt.Errorf("--definitions %s: %w", dir, err)
		}
		defs = append(defs, more...)
	}
	return defs, nil
}

// LoadDefinitions adds definitions to the repository; the errors name
// the file each is about. A definition may replace an earlier one of
// the same name unless that one is built in and it is not.
func (self *Repository) LoadDefinitions(defs []Definition) []error {
	var errs []error
	for _, d := range defs {
		_, err := self.LoadYaml(string(d.Data), LoadOptions{
			Validate: true, BuiltIn: d.BuiltIn, Path: d.Path,
			AllowOverridingAlias: true,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Path, err))
		}
	}
	return errs
}

// NewStandardRepository loads the embedded artifacts and those under
// dirs. Errors do not stop the loading: the repository holds every
// artifact that loaded.
func NewStandardRepository(dirs []string) (*Repository, []error) {
	repo := NewRepository()
	defs, err := AllDefinitions(dirs)
	if err != nil {
		return repo, []error{err}
	}
	return repo, repo.LoadDefinitions(defs)
}

// FileReport is the verification of one definition file.
type FileReport struct {
	Path     string
	Artifact string
	Errors   []error
}

// VerifyDefinitions checks definition files as `velociraptor artifacts
// verify` does (bin/verify.go): all are loaded first (strict schema,
// VQL syntax, source shape) so that they may import each other, then
// each is verified against the API (plugins, functions and their
// args), the repository (imports, Artifact.X() calls and their
// parameters) and the known parameter types. base holds the other
// artifacts they may use; it is not modified.
func VerifyDefinitions(base *Repository, api *ApiDescription,
	defs []Definition) []*FileReport {
	repository := base.Copy()
	var reports []*FileReport
	loaded := make(map[*FileReport]*Artifact)

	for _, d := range defs {
		report := &FileReport{Path: d.Path}
		reports = append(reports, report)
		a, err := repository.LoadYaml(string(d.Data), LoadOptions{
			Validate: true, BuiltIn: true, Path: d.Path,
			AllowOverridingAlias: true,
		})
		if err != nil {
			report.Errors = append(report.Errors, err)
			continue
		}
		report.Artifact = a.Name
		loaded[report] = a
	}

	for _, report := range reports {
		a, ok := loaded[report]
		if !ok {
			continue
		}
		state := NewAnalysisState(a.Name)
		api.VerifyArtifact(repository, a, state)
		report.Errors = append(report.Errors, state.Errors...)
	}
	return reports
}

// Copy returns a shallow copy of the repository.
func (self *Repository) Copy() *Repository {
	self.mu.Lock()
	defer self.mu.Unlock()
	res := NewRepository()
	for k, v := range self.data {
		res.data[k] = v
	}
	return res
}
