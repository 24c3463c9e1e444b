//go:build !linux && !windows && !darwin && !freebsd

package evidence

import "os"

func fillTimes(path string, st os.FileInfo, fi *FileInfo) {}

func lstatOS(path string) (FileInfo, error) { return lstatSlow(path) }
