// Command loggen writes a large, realistic waagent.log for benchmarks:
//
//	go run ./tools/loggen -size 200MB -out /tmp/waagent.log [-seed 1]
//
// The same seed always gives the same file.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/azvql/azvql/tools/loggen/loggen"
)

func main() {
	size := flag.String("size", "200MB", "approximate size (K/M/G suffixes are powers of 1024)")
	out := flag.String("out", "", "output file (default stdout)")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	n, err := loggen.ParseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loggen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if _, err := loggen.Generate(w, n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}
