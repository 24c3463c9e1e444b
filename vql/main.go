// Command vql runs VQL queries and azvql artifacts on one machine, one
// mounted disk image or one folder of collected evidence.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

var (
	app = kingpin.New("vql", "Query Azure VM extension evidence with VQL (azvql).")

	verbose     = app.Flag("verbose", "Print the query log to stderr.").Short('v').Bool()
	definitions = app.Flag("definitions", "A folder of extra artifact definitions (YAML).").Strings()

	// Each command file appends a handler; the one that owns the parsed
	// command runs it and returns true.
	commandHandlers []func(command string) (bool, error)
)

func main() {
	app.HelpFlag.Short('h')
	command := kingpin.MustParse(app.Parse(os.Args[1:]))
	for _, h := range commandHandlers {
		ok, err := h(command)
		if !ok {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "vql: %v\n", err)
			os.Exit(1)
		}
		return
	}
	fmt.Fprintf(os.Stderr, "vql: no handler for command %q\n", command)
	os.Exit(2)
}
