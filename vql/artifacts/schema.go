// Package artifacts is the artifact repository, compiler, verifier and
// Artifact plugin of the vql host. An artifact must mean the same here
// as under Velociraptor v0.75.2: the same YAML keys (its Artifact
// proto's), the same checks when loading, the same request when
// compiled, the same verifier messages. The integration tests run the
// same artifacts and testcases under Velociraptor and compare.
package artifacts

// The types below mirror the Artifact proto message by message. The
// YAML decoder (github.com/Velocidex/yaml/v2) reads the json tags, as
// it does for the generated proto structs in Velociraptor, so exactly
// the same keys are accepted and UnmarshalStrict rejects all others.

// ArtifactEnv is proto.ArtifactEnv.
type ArtifactEnv struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// ColumnType is proto.ColumnType.
type ColumnType struct {
	Name        string `json:"name,omitempty"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
}

// ArtifactParameter is proto.ArtifactParameter.
type ArtifactParameter struct {
	Name            string   `json:"name,omitempty"`
	Default         string   `json:"default,omitempty"`
	Description     string   `json:"description,omitempty"`
	Type            string   `json:"type,omitempty"`
	Choices         []string `json:"choices,omitempty"`
	FriendlyName    string   `json:"friendly_name,omitempty"`
	ValidatingRegex string   `json:"validating_regex,omitempty"`
	ArtifactType    string   `json:"artifact_type,omitempty"`
	Sources         bool     `json:"sources,omitempty"`
}

// NotebookSourceCell is proto.NotebookSourceCell.
type NotebookSourceCell struct {
	Template string         `json:"template,omitempty"`
	Type     string         `json:"type,omitempty"`
	Name     string         `json:"name,omitempty"`
	Output   string         `json:"output,omitempty"`
	Env      []*ArtifactEnv `json:"env,omitempty"`
}

// ArtifactSource is proto.ArtifactSource.
type ArtifactSource struct {
	Name         string                `json:"name,omitempty"`
	Description  string                `json:"description,omitempty"`
	Precondition string                `json:"precondition,omitempty"`
	Query        string                `json:"query,omitempty"`
	Queries      []string              `json:"queries,omitempty"`
	Notebook     []*NotebookSourceCell `json:"notebook,omitempty"`
}

// Report is proto.Report.
type Report struct {
	Type       string               `json:"type,omitempty"`
	Timeout    uint64               `json:"timeout,omitempty"`
	Name       string               `json:"name,omitempty"`
	Template   string               `json:"template,omitempty"`
	Parameters []*ArtifactParameter `json:"parameters,omitempty"`
}

// Resources is proto.Resources.
type Resources struct {
	Timeout            uint64  `json:"timeout,omitempty"`
	OpsPerSecond       float32 `json:"ops_per_second,omitempty"`
	CpuLimit           float32 `json:"cpu_limit,omitempty"`
	IopsLimit          float32 `json:"iops_limit,omitempty"`
	MaxRows            uint64  `json:"max_rows,omitempty"`
	MaxUploadBytes     uint64  `json:"max_upload_bytes,omitempty"`
	MaxBatchWait       uint64  `json:"max_batch_wait,omitempty"`
	MaxBatchRows       uint64  `json:"max_batch_rows,omitempty"`
	MaxBatchRowsBuffer uint64  `json:"max_batch_rows_buffer,omitempty"`
}

// Tool is proto.Tool.
type Tool struct {
	Name             string   `json:"name,omitempty"`
	Url              string   `json:"url,omitempty"`
	GithubProject    string   `json:"github_project,omitempty"`
	GithubAssetRegex string   `json:"github_asset_regex,omitempty"`
	ServeLocally     bool     `json:"serve_locally,omitempty"`
	AdminOverride    bool     `json:"admin_override,omitempty"`
	ExpectedHash     string   `json:"expected_hash,omitempty"`
	Version          string   `json:"version,omitempty"`
	Materialize      bool     `json:"materialize,omitempty"`
	Artifact         string   `json:"artifact,omitempty"`
	FilestorePath    string   `json:"filestore_path,omitempty"`
	ServeUrl         string   `json:"serve_url,omitempty"`
	ServeUrls        []string `json:"serve_urls,omitempty"`
	ServePath        string   `json:"serve_path,omitempty"`
	Filename         string   `json:"filename,omitempty"`
	Hash             string   `json:"hash,omitempty"`
	InvalidHash      string   `json:"invalid_hash,omitempty"`
	Versions         []*Tool  `json:"versions,omitempty"`
}

// ArtifactMetadata is proto.ArtifactMetadata.
type ArtifactMetadata struct {
	Hidden bool     `json:"hidden,omitempty"`
	Basic  bool     `json:"basic,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// Artifact is proto.Artifact. Raw, Compiled, BuiltIn, CompiledIn,
// IsAlias, IsInherited and Metadata are internal: YAML may name them
// (Velociraptor's strict decoder accepts them too) but loading clears
// them.
type Artifact struct {
	Name                string               `json:"name,omitempty"`
	Aliases             []string             `json:"aliases,omitempty"`
	Description         string               `json:"description,omitempty"`
	Author              string               `json:"author,omitempty"`
	Reference           []string             `json:"reference,omitempty"`
	References          []string             `json:"references,omitempty"`
	RequiredPermissions []string             `json:"required_permissions,omitempty"`
	ImpliedPermissions  []string             `json:"implied_permissions,omitempty"`
	Impersonate         string               `json:"impersonate,omitempty"`
	Resources           *Resources           `json:"resources,omitempty"`
	Tools               []*Tool              `json:"tools,omitempty"`
	Precondition        string               `json:"precondition,omitempty"`
	Parameters          []*ArtifactParameter `json:"parameters,omitempty"`
	Type                string               `json:"type,omitempty"`
	Sources             []*ArtifactSource    `json:"sources,omitempty"`
	Imports             []string             `json:"imports,omitempty"`
	Export              string               `json:"export,omitempty"`
	Reports             []*Report            `json:"reports,omitempty"`
	ColumnTypes         []*ColumnType        `json:"column_types,omitempty"`

	Raw         string            `json:"raw,omitempty"`
	Compiled    bool              `json:"compiled,omitempty"`
	BuiltIn     bool              `json:"built_in,omitempty"`
	CompiledIn  bool              `json:"compiled_in,omitempty"`
	IsAlias     bool              `json:"is_alias,omitempty"`
	IsInherited bool              `json:"is_inherited,omitempty"`
	Metadata    *ArtifactMetadata `json:"metadata,omitempty"`

	// Path is where the definition came from (not part of the
	// schema: the yaml decoder skips fields tagged "-").
	Path string `json:"-"`
}

// Clone returns a deep copy (proto.Clone in Velociraptor).
func (self *Artifact) Clone() *Artifact {
	if self == nil {
		return nil
	}
	res := *self
	res.Aliases = cloneStrings(self.Aliases)
	res.Reference = cloneStrings(self.Reference)
	res.References = cloneStrings(self.References)
	res.RequiredPermissions = cloneStrings(self.RequiredPermissions)
	res.ImpliedPermissions = cloneStrings(self.ImpliedPermissions)
	res.Imports = cloneStrings(self.Imports)
	if self.Resources != nil {
		r := *self.Resources
		res.Resources = &r
	}
	res.Tools = nil
	for _, t := range self.Tools {
		c := *t
		res.Tools = append(res.Tools, &c)
	}
	res.Parameters = nil
	for _, p := range self.Parameters {
		c := *p
		c.Choices = cloneStrings(p.Choices)
		res.Parameters = append(res.Parameters, &c)
	}
	res.Sources = nil
	for _, s := range self.Sources {
		c := *s
		c.Queries = cloneStrings(s.Queries)
		c.Notebook = append([]*NotebookSourceCell(nil), s.Notebook...)
		res.Sources = append(res.Sources, &c)
	}
	res.Reports = append([]*Report(nil), self.Reports...)
	res.ColumnTypes = append([]*ColumnType(nil), self.ColumnTypes...)
	if self.Metadata != nil {
		m := *self.Metadata
		res.Metadata = &m
	}
	return &res
}

func cloneStrings(in []string) []string {
	if in == nil {
		return nil
	}
	return append([]string(nil), in...)
}

// KnownParameterTypes are the parameter types Velociraptor v0.75.2
// understands: those its compiler converts (see conversions in
// compiler.go), those its collector converts, and those its GUI has a
// form for (hidden, choices...).
// Any other type is silently treated as a string by Velociraptor, which
// is almost always a typo; `vql artifacts verify` reports it.
var KnownParameterTypes = map[string]bool{
	"": true, "string": true, "regex": true, "yara": true,
	"redacted": true, "upload": true, "upload_file": true,
	"server_metadata": true, "int": true, "int64": true, "integer": true,
	"float": true, "timestamp": true, "starlark": true, "csv": true,
	"artifactset": true, "json": true, "json_array": true,
	"regex_array": true, "multichoice": true, "xml": true, "yaml": true,
	"bool": true, "choices": true, "hidden": true,
}
