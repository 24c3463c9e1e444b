// Command activitygen writes a large Azure Activity Log export for
// benchmarks (a million events by default):
//
//	go run ./tools/activitygen -events 1000000 -shape json -out /tmp/activity.json [-vms 1000] [-seed 1]
//
// The same seed always gives the same file.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/azvql/azvql/tools/activitygen/activitygen"
)

func main() {
	events := flag.Int("events", 1000000, "number of events (whole operations: rounded up to even)")
	shape := flag.String("shape", activitygen.ShapeJSON, "json (a JSON array, the portal/az CLI shape) or jsonl (diagnostic-settings JSON lines)")
	vms := flag.Int("vms", 1000, "number of VMs the operations target")
	out := flag.String("out", "", "output file (default stdout)")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if *shape != activitygen.ShapeJSON && *shape != activitygen.ShapeJSONL {
		fmt.Fprintln(os.Stderr, "activitygen: -shape must be json or jsonl")
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "activitygen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := activitygen.Generate(w, *events, *shape, *vms, *seed, start, nil); err != nil {
		fmt.Fprintln(os.Stderr, "activitygen:", err)
		os.Exit(1)
	}
}
