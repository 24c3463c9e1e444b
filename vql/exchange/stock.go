package exchange

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/azvql/azvql/vql/artifacts"
)

// The stock VQL list (extracted from Velociraptor v0.75.2's
// docs/references/vql.yaml, as docs/exchange.md describes) and stubs
// of the stock artifacts the editions call.
//
//go:embed testdata/stock_vql.tsv testdata/stock_artifacts/*.yaml
var stockFS embed.FS

// StockAPI is stock Velociraptor v0.75.2's VQL: every plugin and
// function with its arguments, as its `artifacts verify` knows them.
func StockAPI() (*artifacts.ApiDescription, error) {
	data, err := stockFS.ReadFile("testdata/stock_vql.tsv")
	if err != nil {
		return nil, err
	}
	api := artifacts.NewApiDescription()
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			return nil, fmt.Errorf("stock_vql.tsv: bad line %q", line)
		}
		var args []string
		var required []bool
		for _, a := range strings.Split(fields[3], ",") {
			if a == "" {
				continue
			}
			args = append(args, strings.TrimSuffix(a, "!"))
			required = append(required, strings.HasSuffix(a, "!"))
		}
		free := fields[2] == "free"
		switch fields[0] {
		case "plugin":
			api.AddPlugin(fields[1], args, required, free)
		case "function":
			api.AddFunction(fields[1], args, required, free)
		default:
			return nil, fmt.Errorf("stock_vql.tsv: bad kind in %q", line)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("stock_vql.tsv: empty")
	}
	return api, sc.Err()
}

// StockRepository holds the stock artifacts the editions may call
// (Generic.Utils.FetchBinary), by their parameters.
func StockRepository() (*artifacts.Repository, error) {
	repo := artifacts.NewRepository()
	matches, err := fs.Glob(stockFS, "testdata/stock_artifacts/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		data, err := stockFS.ReadFile(m)
		if err != nil {
			return nil, err
		}
		if _, err := repo.LoadYaml(string(data), artifacts.LoadOptions{Validate: true, BuiltIn: true, Path: m}); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
	}
	return repo, nil
}
