package artifacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/host"
	"www.velocidex.com/golang/vfilter"
)

// CollectorParams turns `--args` values into the parameters of each
// artifact, as `velociraptor artifacts collect` does (bin/artifacts.go):
// "K=V" applies to every artifact, "Artifact::K=V" to that one, a bare
// "K" means "Y". Values are converted as the collect() plugin converts
// them (vql/tools/collector AddSpecProtobuf): bool "Y", "TRUE", "true",
// "True" become "Y" and anything else "", a choice must be listed.
// Velociraptor ignores an argument no artifact declares; here it is an
// error, since it is nearly always a typo.
func (repo *Repository) CollectorParams(names []string, args []string) (
	map[string][]*Env, []string, error) {
	result := make(map[string][]*Env)
	var warnings []string
	used := make(map[string]bool)

	for _, name := range names {
		artifact, pres := repo.Get(name)
		if !pres {
			return nil, nil, fmt.Errorf("Artifact %s not found", name)
		}
		params := make(map[string]*ArtifactParameter)
		for _, p := range artifact.Parameters {
			params[p.Name] = p
		}

		for _, item := range args {
			namespaces := strings.SplitN(item, "::", 2)
			if len(namespaces) == 2 {
				if namespaces[0] != name {
					continue
				}
				item = namespaces[1]
			}
			parts := strings.SplitN(item, "=", 2)
			param, value := parts[0], "Y"
			if len(parts) == 2 {
				value = parts[1]
			}

			def, pres := params[param]
			if !pres {
				continue
			}
			used[item] = true

			switch def.Type {
			case "bool":
				switch value {
				case "Y", "TRUE", "true", "True":
					value = "Y"
				default:
					value = ""
				}
			case "choices":
				valid := false
				for _, c := range def.Choices {
					if c == value {
						valid = true
					}
				}
				if !valid {
					warnings = append(warnings, fmt.Sprintf(
						"Invalid choice for parameter %v: %v", param, value))
				}
			}
			result[name] = append(result[name], &Env{Key: param, Value: value})
		}
	}

	for _, item := range args {
		namespaces := strings.SplitN(item, "::", 2)
		key := item
		if len(namespaces) == 2 {
			key = namespaces[1]
		}
		if !used[key] {
			return nil, nil, fmt.Errorf("--args %s: no artifact collected (%s) has this parameter",
				item, strings.Join(names, ", "))
		}
	}
	return result, warnings, nil
}

// RunRequest runs one compiled request in a child of scope as
// Velociraptor's client runs a VQLCollectorArgs (actions/vql.go): the
// env holds the parameters (strings), the precondition must return a
// row, then the queries run in order in the same scope; emit receives
// the rows of each named query (the results of a source).
func RunRequest(ctx context.Context, scope vfilter.Scope, request *Request,
	emit func(name string, row *ordereddict.Dict) error) error {
	subscope := scope.Copy()
	defer subscope.Close()

	// The artifact's resources.timeout bounds its queries.
	if request.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(request.Timeout)*time.Second)
		defer cancel()
	}

	env := ordereddict.NewDict()
	for _, e := range request.Env {
		env.Set(e.Key, e.Value)
	}
	subscope.AppendVars(env)

	ok, err := CheckPreconditions(ctx, subscope, request.Precondition)
	if err != nil {
		return fmt.Errorf("%v: While evaluating preconditions: %w", request.Artifact, err)
	}
	if !ok {
		subscope.Log("INFO:%v: Skipping query due to preconditions", request.Artifact)
		return nil
	}

	for _, query := range request.Queries {
		if query.Name != "" {
			subscope.Log("INFO:Starting collection of %s", query.Name)
		}
		vql, err := vfilter.Parse(query.VQL)
		if err != nil {
			return fmt.Errorf("%v: %w", request.Artifact, err)
		}
		rows := 0
		var copier host.RowCopier
		// host.Eval: a source's `LET <Name> = SELECT * FROM <plugin>`
		// then `SELECT * FROM <Name>` skips vfilter's per-row copies.
		qctx, cancel := context.WithCancel(ctx)
		results, done := host.Eval(qctx, subscope, vql)
		for row := range results {
			if query.Name == "" {
				continue
			}
			rows++
			if err := emit(query.Name, copier.Copy(ctx, subscope, row)); err != nil {
				// Stop the query and let its goroutines end before its
				// scope is closed under them.
				cancel()
				for range results {
				}
				done()
				return err
			}
		}
		cancel()
		done()
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) && request.Timeout > 0 {
				return fmt.Errorf("%v: Query timed out after %v seconds", request.Artifact, request.Timeout)
			}
			return err
		}
		if query.Name != "" && rows > 0 {
			subscope.Log("INFO:Collected %v rows for %s", rows, query.Name)
		}
	}
	return nil
}
