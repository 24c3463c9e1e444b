package exchange

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/internal/fixtures"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/host"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// Column is one column of a source's rows, with the kind of value it
// holds: timestamp, int, float, bool, string, dict, list, or any (never
// seen with a value, or seen with several kinds).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Schema maps a source's full name (Artifact/Source, or Artifact for an
// unnamed source) to its columns, in the order the native artifact
// emits them.
type Schema map[string][]Column

// The schema is derived from the native artifacts by running them over
// the fixture trees (DeriveSchema); `go test ./vql/exchange -update`
// rewrites this file and the test fails when it is stale.
//
//go:embed schema.json
var schemaJSON []byte

// EmbeddedSchema returns the schema committed with the code.
func EmbeddedSchema() (Schema, error) {
	var s Schema
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		return nil, fmt.Errorf("exchange: bad embedded schema.json: %w", err)
	}
	return s, nil
}

// Marshal encodes the schema with sorted keys, one column per line.
func (self Schema) Marshal() []byte {
	var keys []string
	for k := range self {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		kb, _ := json.Marshal(k)
		fmt.Fprintf(&b, " %s: [", kb)
		for j, c := range self[k] {
			cb, _ := json.Marshal(c)
			sep := ","
			if j == len(self[k])-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "\n  %s%s", cb, sep)
		}
		end := ","
		if i == len(keys)-1 {
			end = ""
		}
		fmt.Fprintf(&b, "\n ]%s\n", end)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func reduce(ctx context.Context, scope vfilter.Scope, v interface{}) interface{} {
	for i := 0; i < 10; i++ {
		switch t := v.(type) {
		case types.LazyExpr:
			v = t.Reduce(ctx)
		case func() vfilter.Any:
			v = t()
		case types.StoredQuery:
			return "list"
		default:
			return v
		}
	}
	return v
}

// kindOf names the kind of a row value ("" for NULL).
func kindOf(v interface{}) string {
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return ""
	case time.Time, *time.Time:
		return "timestamp"
	case bool:
		return "bool"
	case string, []byte:
		return "string"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case float32, float64:
		return "float"
	case *ordereddict.Dict:
		return "dict"
	default:
		rv := reflect.ValueOf(t)
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			return "list"
		case reflect.Map, reflect.Struct:
			return "dict"
		case reflect.Ptr:
			if rv.IsNil() {
				return ""
			}
			return kindOf(rv.Elem().Interface())
		}
	}
	return "any"
}

// schemaBuilder merges the rows seen for each source.
type schemaBuilder struct {
	order map[string][]string
	kinds map[string]map[string]string
}

func (self *schemaBuilder) add(source string, row *ordereddict.Dict, kind func(interface{}) string) {
	if self.kinds[source] == nil {
		self.kinds[source] = map[string]string{}
	}
	k := self.kinds[source]
	for _, item := range row.Items() {
		old, seen := k[item.Key]
		if !seen {
			self.order[source] = append(self.order[source], item.Key)
		}
		nk := kind(item.Value)
		switch {
		case nk == "":
			if !seen {
				k[item.Key] = ""
			}
		case old == "" || old == nk:
			k[item.Key] = nk
		default:
			k[item.Key] = "any"
		}
	}
}

// schema builds the result. A column never seen with a value in a
// source takes the kind the same column name has in every other source
// where it has one (the plugins share column names: StartTime is a
// time wherever it appears), else any.
func (self *schemaBuilder) schema(sources []string) Schema {
	byName := map[string]string{}
	for _, kinds := range self.kinds {
		for name, k := range kinds {
			switch old, seen := byName[name]; {
			case k == "":
			case !seen || old == k:
				byName[name] = k
			default:
				byName[name] = "any"
			}
		}
	}
	res := Schema{}
	for _, s := range sources {
		cols := []Column{}
		for _, name := range self.order[s] {
			t := self.kinds[s][name]
			if t == "" {
				t = byName[name]
			}
			if t == "" {
				t = "any"
			}
			cols = append(cols, Column{Name: name, Type: t})
		}
		res[s] = cols
	}
	return res
}

// HuntArtifacts are the native artifacts that get an exchange edition:
// the embedded Linux.Azure.*, Windows.Azure.* and Generic.Azure.* that
// have sources (Generic.Azure.Utils only exports VQL for the others).
func HuntArtifacts(repo *artifacts.Repository) []*artifacts.Artifact {
	var res []*artifacts.Artifact
	for _, name := range repo.List() {
		a, ok := repo.Get(name)
		if !ok || !a.BuiltIn || a.IsAlias || !huntName.MatchString(name) || len(a.Sources) == 0 {
			continue
		}
		res = append(res, a)
	}
	return res
}

// SourceNames are the full names of an artifact's sources.
func SourceNames(a *artifacts.Artifact) []string {
	var res []string
	for _, s := range a.Sources {
		res = append(res, artifacts.SourceFullName(a.Name, s.Name))
	}
	return res
}

// DeriveSchema runs every hunt artifact over every folder under
// fixtures (Root=<folder>) and records the columns of each source and
// the kind of value each holds.
func DeriveSchema(ctx context.Context, repo *artifacts.Repository, fixturesDir string) (Schema, error) {
	entries, err := os.ReadDir(fixturesDir)
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, e := range entries {
		if e.IsDir() {
			roots = append(roots, filepath.Join(fixturesDir, e.Name()))
		}
	}
	sort.Strings(roots)

	b := &schemaBuilder{order: map[string][]string{}, kinds: map[string]map[string]string{}}
	var all []string
	for _, a := range HuntArtifacts(repo) {
		all = append(all, SourceNames(a)...)
		hasRoot, hasImage := false, false
		for _, p := range a.Parameters {
			switch p.Name {
			case "Root":
				hasRoot = true
			case "Image":
				hasImage = true
			}
		}
		runs := roots
		imageOnly := hasImage && !hasRoot // an Image beside a Root (Generic.Azure.Timeline) is optional
		if imageOnly {
			// An artifact of the MFT reads a disk image, not a folder:
			// the committed NTFS image of the Windows fixture.
			runs = []string{fixtures.NTFSImage(filepath.Join(fixturesDir, "..", ".."))}
		}
		for _, root := range runs {
			var params []*artifacts.Env
			if hasRoot {
				params = append(params, &artifacts.Env{Key: "Root", Value: root})
			}
			if imageOnly {
				params = append(params, &artifacts.Env{Key: "Image", Value: root})
			}
			if hasActivityLogs(a) {
				// Activity Log exports are not on a VM: the tenant's exports
				// fixture goes with every tree.
				params = append(params, &artifacts.Env{Key: "ActivityLogs", Value: filepath.Join(fixturesDir, "activitylog", "exports", "**")})
			}
			requests, err := repo.Compile(a.Name, params, artifacts.CompilerOptions{})
			if err != nil {
				return nil, err
			}
			scope := host.NewScope(host.Options{})
			artifacts.Install(scope, repo)
			for _, r := range requests {
				err := artifacts.RunRequest(ctx, scope, r, func(name string, row *ordereddict.Dict) error {
					b.add(name, row, func(v interface{}) string { return kindOf(reduce(ctx, scope, v)) })
					return nil
				})
				if err != nil {
					scope.Close()
					return nil, fmt.Errorf("%s on %s: %w", a.Name, root, err)
				}
			}
			scope.Close()
		}
	}
	return b.schema(all), nil
}

// hasActivityLogs: the artifact joins Activity Log exports (ActivityLogs
// parameter) to the VM's evidence.
func hasActivityLogs(a *artifacts.Artifact) bool {
	for _, p := range a.Parameters {
		if p.Name == "ActivityLogs" {
			return true
		}
	}
	return false
}
