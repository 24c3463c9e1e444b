package main

import (
	"fmt"
	"github.com/azvql/azvql/internal/fixtures"
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

	fixturesCmd      = app.Command("fixtures", "Fixture evidence trees.")
	fixturesTouch    = fixturesCmd.Command("touch", "Apply DIR/TREE.times.tsv manifests: set the file times of DIR/TREE/ (git does not keep them).")
	fixturesTouchDir = fixturesTouch.Arg("dir", "Folder holding the trees and their .times.tsv manifests (tests/fixtures).").Required().String()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		switch command {
		case goldenCmd.FullCommand():
			return true, doGolden()
		case fixturesTouch.FullCommand():
			if st, err := os.Stat(*fixturesTouchDir); err != nil || !st.IsDir() {
				return true, fmt.Errorf("fixtures touch: %s is not a folder", *fixturesTouchDir)
			}
			return true, fixtures.ApplyAll(*fixturesTouchDir)
		}
		return false, nil
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
