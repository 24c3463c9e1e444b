// Command vql runs VQL queries and azvql artifacts on one machine, one
// mounted disk image or one folder of collected evidence.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/alecthomas/kingpin/v2"

	"github.com/azvql/azvql/internal/gctune"
)

// gcFloor is the heap vql lets the collector grow to before collecting
// while its live heap is small (internal/gctune). 48 MiB keeps the peak
// RSS of the 100,000-execution walk under issue 18's 64 MB.
const gcFloor = 48 << 20

var (
	app = kingpin.New("vql", "Query Azure VM extension evidence with VQL (azvql).")

	verbose     = app.Flag("verbose", "Print the query log to stderr.").Short('v').Bool()
	definitions = app.Flag("definitions", "A folder of extra artifact definitions (YAML).").Strings()
	cpuProfile  = app.Flag("cpuprofile", "Write a Go CPU profile of the run to this file (for performance reports).").Hidden().String()

	// Each command file appends a handler; the one that owns the parsed
	// command runs it and returns true.
	commandHandlers []func(command string) (bool, error)
)

func main() {
	app.HelpFlag.Short('h')
	command := kingpin.MustParse(app.Parse(os.Args[1:]))
	gctune.Start(gcFloor)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vql: %v\n", err)
			os.Exit(2)
		}
		// os.Exit skips defers: stop explicitly on every path.
		code := run(command)
		stop()
		os.Exit(code)
	}
	os.Exit(run(command))
}

func run(command string) int {
	closeImage, err := setupImage()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vql: %v\n", err)
		return 1
	}
	defer closeImage()
	for _, h := range commandHandlers {
		ok, err := h(command)
		if !ok {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "vql: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "vql: no handler for command %q\n", command)
	return 2
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
