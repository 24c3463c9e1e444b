package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/output"
)

var (
	pluginsCmd    = app.Command("plugins", "List every VQL plugin and function the vql host provides, with their arguments.")
	pluginsFormat = pluginsCmd.Flag("format", "Output format: json, jsonl, csv or table "+
		"(default: table on a terminal, json otherwise).").Enum(output.Formats...)
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		if command != pluginsCmd.FullCommand() {
			return false, nil
		}
		format := *pluginsFormat
		if format == "" {
			format = defaultFormat(os.Stdout)
		}
		return true, doPlugins(os.Stdout, format)
	})
}

// pluginRows describes the scope vql query runs in (Artifact.* aside):
// one row per plugin or function with Name, Type, Version, Doc and Args
// (a list of {Name, Type, Required, Repeated, Doc}); in the table, Args
// is a readable summary.
func pluginRows(format string) ([]*ordereddict.Dict, error) {
	scope := host.NewScope(host.Options{})
	defer scope.Close()
	var rows []*ordereddict.Dict
	for _, c := range host.Describe(scope).List() {
		args := make([]*ordereddict.Dict, 0, len(c.Args))
		summary := make([]string, 0, len(c.Args))
		for _, a := range c.Args {
			t := a.Type
			if a.Repeated {
				t = "list of " + t
			}
			args = append(args, ordereddict.NewDict().
				Set("Name", a.Name).
				Set("Type", t).
				Set("Required", a.Required).
				Set("Doc", a.Doc))
			s := a.Name + " (" + t
			if a.Required {
				s += ", required"
			}
			summary = append(summary, s+")")
		}
		row := ordereddict.NewDict().
			Set("Name", c.Name).
			Set("Type", c.Kind).
			Set("Version", c.Version).
			Set("Doc", c.Doc)
		if format == "table" {
			row.Set("Args", strings.Join(summary, ", "))
		} else {
			row.Set("Args", args)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func doPlugins(w io.Writer, format string) error {
	rows, err := pluginRows(format)
	if err != nil {
		return err
	}
	out, err := output.NewWriterWithOptions(format, w, output.Options{MaxCellWidth: 60})
	if err != nil {
		return fmt.Errorf("plugins: %w", err)
	}
	for _, r := range rows {
		if err := out.Write(r); err != nil {
			return err
		}
	}
	return out.Close()
}
