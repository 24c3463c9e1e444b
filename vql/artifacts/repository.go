package artifacts

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/Velocidex/yaml/v2"
	"www.velocidex.com/golang/vfilter"
)

// LoadOptions control how a definition is added to a repository.
type LoadOptions struct {
	// Validate parses the VQL of the artifact and checks its shape
	// (ValidateArtifact in Velociraptor). Always on for the vql host.
	Validate bool

	// BuiltIn marks embedded artifacts: others may not override them.
	BuiltIn bool

	// AllowOverridingAlias lets an alias replace an existing name.
	AllowOverridingAlias bool

	// Path records where the definition came from.
	Path string
}

// Repository holds artifact definitions by name (aliases included).
type Repository struct {
	mu   sync.Mutex
	data map[string]*Artifact
}

// NewRepository returns an empty repository.
func NewRepository() *Repository {
	return &Repository{data: make(map[string]*Artifact)}
}

// literalQueries rewrites a definition so that every query keeps its
// line breaks whatever block style its author wrote: a `query:` or
// `precondition:` key with its value on the following lines gets the
// literal block indicator ("query: |", followed by an empty line), and
// an item of a `queries:` list that starts with SELECT, LET or // is
// moved into a literal block of its own. Velociraptor reads artifacts
// the same way, so a definition means the same in both.
func literalQueries(data string) string {
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i, line := range lines {
		key := strings.ToLower(strings.TrimRight(strings.TrimLeft(line, " \t\v\f-"), " \t\v\f"))
		if key == "query:" || key == "precondition:" {
			lines[i] = line + " |\n"
			continue
		}
		if prefix, rest, ok := queryListItem(line); ok {
			lines[i] = prefix + "|\n" + strings.Repeat(" ", len(prefix)) + rest
		}
	}
	return strings.Join(lines, "\n")
}

// queryListItem splits "  - SELECT ..." (spaces, a dash, spaces, then
// SELECT, LET or //, in any case) into its prefix and the query.
func queryListItem(line string) (prefix, query string, ok bool) {
	indent := len(line) - len(strings.TrimLeft(line, " "))
	if indent == 0 || !strings.HasPrefix(line[indent:], "-") {
		return "", "", false
	}
	after := line[indent+1:]
	gap := len(after) - len(strings.TrimLeft(after, " "))
	if gap == 0 {
		return "", "", false
	}
	query = after[gap:]
	upper := strings.ToUpper(query)
	if !strings.HasPrefix(upper, "SELECT") && !strings.HasPrefix(upper, "LET") && !strings.HasPrefix(query, "//") {
		return "", "", false
	}
	return line[:indent+1+gap], query, true
}

// ParseYaml decodes one artifact definition strictly: keys outside
// the Artifact schema are errors, as in Velociraptor's LoadYaml.
func ParseYaml(data string) (*Artifact, error) {
	artifact := &Artifact{}
	err := yaml.UnmarshalStrict([]byte(literalQueries(data)), artifact)
	if err != nil {
		// Name the artifact in the message when a lenient parse can.
		var named struct {
			Name string `json:"name"`
		}
		if yaml.Unmarshal([]byte(literalQueries(data)), &named) == nil &&
			named.Name != "" {
			return nil, fmt.Errorf("%s: invalid artifact YAML (outside Velociraptor's artifact schema): %w",
				named.Name, err)
		}
		return nil, fmt.Errorf("invalid artifact YAML (outside Velociraptor's artifact schema): %w", err)
	}
	artifact.Raw = data
	return artifact, nil
}

// LoadYaml parses and adds one definition.
func (self *Repository) LoadYaml(data string, options LoadOptions) (*Artifact, error) {
	artifact, err := ParseYaml(data)
	if err != nil {
		return nil, err
	}
	return self.LoadArtifact(artifact, options)
}

var (
	artifactNameRegex      = regexp.MustCompile("^[a-zA-Z0-9_.]+$")
	artifactComponentRegex = regexp.MustCompile("^[0-9]")
)

func validateArtifactName(name string) error {
	if !artifactNameRegex.MatchString(name) {
		return fmt.Errorf("Invalid artifact name %q. Can only contain characted in this set 'a-zA-Z0-9_.'", name)
	}
	for _, part := range strings.Split(name, ".") {
		if artifactComponentRegex.MatchString(part) {
			return fmt.Errorf("Invalid artifact name %q. Name parts can not start with a number'", name)
		}
	}
	return nil
}

// knownPermissions is acls.GetPermission's list.
var knownPermissions = map[string]bool{
	"ANY_QUERY": true, "PUBLISH": true, "READ_RESULTS": true,
	"LABEL_CLIENT": true, "COLLECT_CLIENT": true, "COLLECT_BASIC": true,
	"START_HUNT": true, "COLLECT_SERVER": true, "ARTIFACT_WRITER": true,
	"SERVER_ARTIFACT_WRITER": true, "EXECVE": true, "NOTEBOOK_EDITOR": true,
	"SERVER_ADMIN": true, "ORG_ADMIN": true, "IMPERSONATION": true,
	"FILESYSTEM_READ": true, "FILESYSTEM_WRITE": true, "NETWORK": true,
	"MACHINE_STATE": true, "PREPARE_RESULTS": true, "DELETE_RESULTS": true,
	"DATASTORE_ACCESS": true,
}

// ValidateArtifact normalizes and checks a parsed artifact exactly as
// Velociraptor's LoadProto does with ValidateArtifact set.
func ValidateArtifact(artifact *Artifact, validate bool) error {
	if err := validateArtifactName(artifact.Name); err != nil {
		return err
	}

	for _, report := range artifact.Reports {
		report.Type = strings.ToLower(report.Type)
		switch report.Type {
		case "monitoring_daily", "server_event", "client",
			"internal", "hunt", "templates", "html":
		case "":
			report.Type = "CLIENT"
		default:
			return fmt.Errorf("%s: Invalid report type %s", artifact.Name, report.Type)
		}
	}

	artifact.Type = strings.ToLower(artifact.Type)
	switch artifact.Type {
	case "":
		artifact.Type = "client"
	case "client", "client_event", "server",
		"server_event", "notebook", "internal":
	default:
		return fmt.Errorf("%s: Artifact type invalid.", artifact.Name)
	}

	// Convert the deprecated Queries field to Query.
	for _, source := range artifact.Sources {
		if source.Query == "" {
			for _, query := range source.Queries {
				source.Query += "\n" + query
			}
		}
		source.Queries = nil
	}

	if !validate {
		return nil
	}

	for _, perm := range artifact.RequiredPermissions {
		if !knownPermissions[strings.ToUpper(perm)] {
			return fmt.Errorf("%s: Invalid artifact permission: %v", artifact.Name, perm)
		}
	}

	if artifact.Precondition != "" {
		if _, err := vfilter.MultiParse(artifact.Precondition); err != nil {
			return fmt.Errorf("%s: While parsing artifact precondition: %w",
				artifact.Name, err)
		}
	}

	if artifact.Export != "" {
		if _, err := vfilter.MultiParse(artifact.Export); err != nil {
			return fmt.Errorf("%s: While parsing artifact export: %w",
				artifact.Name, err)
		}
	}

	for _, source := range artifact.Sources {
		name := SourceFullName(artifact.Name, source.Name)
		if source.Precondition != "" {
			if artifact.Precondition != "" {
				return fmt.Errorf("Artifact %s contains a top level precondition "+
					"and a source precondition.", artifact.Name)
			}
			if _, err := vfilter.MultiParse(source.Precondition); err != nil {
				return fmt.Errorf("%s: While parsing precondition: %w", name, err)
			}
		}

		if len(source.Query) > 0 {
			queries, err := vfilter.MultiParse(source.Query)
			if err != nil {
				return fmt.Errorf("%s: While parsing source query: %w", name, err)
			}
			for idx, vql := range queries {
				last := idx == len(queries)-1
				if (!last && vql.Let == "") || (last && vql.Let != "") {
					return fmt.Errorf("%s: Invalid artifact %s: All Queries in a source "+
						"must be LET queries, except for the final one.", name, artifact.Name)
				}
			}
		}

		for _, cell := range source.Notebook {
			cell.Type = strings.ToLower(cell.Type)
			switch cell.Type {
			case "md", "markdown", "vql", "vql_suggestion", "notebook", "none":
			default:
				return fmt.Errorf("Artifact %s contains an invalid notebook cell type: %v",
					artifact.Name, cell.Type)
			}
		}
	}
	return nil
}

// SourceFullName is "Artifact" or "Artifact/Source".
func SourceFullName(artifact, source string) string {
	if source == "" {
		return artifact
	}
	return artifact + "/" + source
}

// SplitFullSourceName splits "Artifact/Source" (paths.SplitFullSourceName).
func SplitFullSourceName(name string) (string, string) {
	parts := strings.SplitN(name, "/", 2)
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return name, ""
}

// LoadArtifact validates and stores a parsed artifact (LoadProto).
func (self *Repository) LoadArtifact(artifact *Artifact, options LoadOptions) (*Artifact, error) {
	if artifact == nil {
		return nil, errors.New("Invalid artifact")
	}
	artifact = artifact.Clone()
	artifact.Compiled = false
	artifact.IsAlias = false
	artifact.IsInherited = false
	artifact.Metadata = nil
	artifact.BuiltIn = options.BuiltIn
	artifact.Path = options.Path

	if err := ValidateArtifact(artifact, options.Validate); err != nil {
		return nil, err
	}

	self.mu.Lock()
	defer self.mu.Unlock()

	for _, alias := range artifact.Aliases {
		if _, pres := self.data[alias]; pres && !options.AllowOverridingAlias {
			return nil, fmt.Errorf("%s: Artifact Alias is already taken %s",
				artifact.Name, alias)
		}
	}

	if !options.BuiltIn {
		if existing, pres := self.data[artifact.Name]; pres && existing.BuiltIn {
			return nil, fmt.Errorf("Unable to override built in artifact %v",
				artifact.Name)
		}
	}

	self.data[artifact.Name] = artifact
	for _, alias := range artifact.Aliases {
		c := artifact.Clone()
		c.Name = alias
		c.IsAlias = true
		self.data[alias] = c
	}
	return artifact, nil
}

// Get returns a copy of an artifact. "Name/Source" returns the
// artifact with only that source, as Velociraptor's repository does.
func (self *Repository) Get(name string) (*Artifact, bool) {
	artifactName, sourceName := SplitFullSourceName(name)

	self.mu.Lock()
	res, pres := self.data[artifactName]
	self.mu.Unlock()
	if !pres {
		return nil, false
	}

	res = res.Clone()
	if sourceName == "" {
		return res, true
	}

	sources := res.Sources
	res.Sources = nil
	for _, source := range sources {
		if source.Name == sourceName {
			res.Sources = append(res.Sources, source)
			return res, true
		}
	}
	return nil, false
}

// List returns the sorted names.
func (self *Repository) List() []string {
	self.mu.Lock()
	defer self.mu.Unlock()
	result := make([]string, 0, len(self.data))
	for k := range self.data {
		result = append(result, k)
	}
	sort.Strings(result)
	return result
}

func isYaml(path string) bool {
	return strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")
}
