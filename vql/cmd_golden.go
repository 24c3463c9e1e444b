package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/azvql/azvql/vql/golden"
)

var (
	goldenCmd = app.Command("golden",
		"Run golden testcases (DIR/NAME.in.yaml -> NAME.out.yaml) as Velociraptor's golden runner does.")
	goldenDir    = goldenCmd.Arg("directory", "Folder of testcases (searched recursively).").Required().String()
	goldenFilter = goldenCmd.Flag("filter", "Only testcases whose file name starts with this.").String()
	goldenUpdate = goldenCmd.Flag("update", "Rewrite NAME.out.yaml with this run's output.").Bool()
	goldenEnv    = goldenCmd.Flag("env",
		"Set a variable for the queries, K=V (repeat). srcDir defaults to the repository root.").StringMap()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		if command != goldenCmd.FullCommand() {
			return false, nil
		}
		return true, doGolden()
	})
}

func doGolden() error {
	env := *goldenEnv
	srcDir := env["srcDir"]
	if srcDir == "" {
		s, err := golden.FindSrcDir(*goldenDir)
		if err != nil {
			return err
		}
		srcDir = s
	}
	repo, err := golden.LoadRepository(srcDir, *definitions)
	if err != nil {
		return err
	}

	results, err := golden.Run(golden.Options{
		Dir:          *goldenDir,
		Filter:       *goldenFilter,
		Update:       *goldenUpdate,
		WriteMissing: true,
		SrcDir:       srcDir,
		Env:          env,
		Repository:   repo,
		Out:          os.Stdout,
		Verbose:      *verbose,
	})
	if err != nil {
		return err
	}
	var failures []string
	for _, r := range results {
		if r.Failed() {
			failures = append(failures, r.File)
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("Failed! Some golden files did not match: %s", strings.Join(failures, ", "))
	}
	return nil
}
