package golden

import (
	"gopkg.in/yaml.v3"
)

// QueryDesc is one query of a testcase with the comment above it.
type QueryDesc struct {
	Comment string
	Query   string
}

// Fixture is a NAME.in.yaml testcase, in Velociraptor's format
// (bin/golden.go testFixture).
type Fixture struct {
	Parameters map[string]string
	Queries    []QueryDesc
}

// ParseFixture reads a testcase as Velociraptor's parseFixture does:
// with gopkg.in/yaml.v3 so that a comment above a query is kept and
// printed before it in the output; non-scalar entries are skipped.
// ConfigMerges and ConfigPatches (Velociraptor config edits) are
// accepted and ignored: the vql host has no config.
func ParseFixture(data []byte) (res Fixture, err error) {
	type tmpType struct {
		ConfigMerges  []string          `yaml:"ConfigMerges"`
		ConfigPatches []string          `yaml:"ConfigPatches"`
		Parameters    map[string]string `yaml:"Parameters"`
		Queries       []yaml.Node       `yaml:"Queries"`
	}

	var n tmpType
	if err = yaml.Unmarshal(data, &n); err != nil {
		return res, err
	}
	res.Parameters = n.Parameters
	for _, node := range n.Queries {
		if node.Kind != yaml.ScalarNode {
			continue
		}
		res.Queries = append(res.Queries, QueryDesc{
			Query:   node.Value,
			Comment: node.HeadComment,
		})
	}
	return res, nil
}
