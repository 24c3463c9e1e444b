//go:build !linux && !freebsd && !windows

package builtins

import "github.com/azvql/azvql/plugins/evidence"

// velociraptorTimes gives fi the times Velociraptor v0.75.2's file
// accessor reports on this OS: on macOS (accessors/file/accessor_darwin.go)
// every time with nanoseconds, as read.
func velociraptorTimes(fi evidence.FileInfo) evidence.FileInfo { return fi }
