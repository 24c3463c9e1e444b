package evidence

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrWrongOS: an evidence path of the other OS's layout cannot be read
// from the running system without a root= (a Linux path on a Windows
// host). Callers that probe both layouts skip it silently (errors.Is).
var ErrWrongOS = errors.New("a Linux path on a Windows host needs root=")

// ErrWrongDrive: a Windows root holds the C: drive only; a path on
// another drive is not on it.
var ErrWrongDrive = errors.New("evidence root holds the C: drive only")

// The reasons the evidence layer refuses a path. Test for them with
// errors.Is; the error itself is a *RefusedError naming the path.
var (
	// ErrSymlink: a symbolic link (or an NTFS reparse point an accessor
	// reports as one) was met on the way. Links are evidence: they are
	// reported with their target and never followed, so an absolute
	// link in a mounted image cannot read the analyst's own files and a
	// planted link cannot pass another file off as the VM's.
	ErrSymlink = errors.New("symlink, not followed")
	// ErrNotRegular: a FIFO, socket, device or folder stands where a
	// file is read. It is not opened (a FIFO would block forever).
	ErrNotRegular = errors.New("not a regular file, not read")
)

// RefusedError says which path the evidence layer refused, where on the
// way, and why.
type RefusedError struct {
	Op     string // open, readdir, lstat
	Path   string // the evidence path asked for
	At     string // the evidence path refused: Path itself or a folder above it
	Type   string // symlink, fifo, socket, device, char-device, directory, irregular
	Target string // a symlink's target as stored in the link ("" when unreadable)
}

func (e *RefusedError) Error() string {
	what := e.Type
	switch e.Type {
	case "symlink":
		what = "a symlink"
		if e.Target != "" {
			what += fmt.Sprintf(" to %q", e.Target)
		}
		what += ", not followed"
	case "directory":
		what = "a folder, not a file"
	default:
		what = "a " + e.Type + ", not a regular file: not read"
	}
	if e.At != "" && e.At != e.Path {
		return fmt.Sprintf("%s %s: %s is %s", e.Op, e.Path, e.At, what)
	}
	return fmt.Sprintf("%s %s: %s", e.Op, e.Path, what)
}

// Is makes errors.Is(err, ErrSymlink / ErrNotRegular) work.
func (e *RefusedError) Is(target error) bool {
	switch target {
	case ErrSymlink:
		return e.Type == "symlink"
	case ErrNotRegular:
		return e.Type != "symlink"
	}
	return false
}

// IsRefused reports whether err is a refusal of the evidence layer (a
// link or a file that is not regular), as opposed to an absent or
// unreadable file.
func IsRefused(err error) bool {
	var re *RefusedError
	return errors.As(err, &re)
}

// TypeName names the kind of file a mode describes, as RefusedError and
// log lines do: "file" for a regular file.
func TypeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "char-device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeDir != 0:
		return "directory"
	case m&fs.ModeIrregular != 0:
		return "irregular"
	}
	return "file"
}

// entryType is TypeName for a FileInfo, whose IsDir/IsLink flags are
// authoritative (some accessors leave Mode's type bits empty).
func entryType(fi FileInfo) string {
	switch {
	case fi.IsLink:
		return "symlink"
	case fi.IsDir:
		return "directory"
	}
	return TypeName(fi.Mode)
}

// Root errors: OpenRoot's checks of the root argument itself.
var (
	// ErrBadRoot: the root does not exist, is not a folder or cannot be
	// listed. A typo must fail the query, never look like clean evidence.
	ErrBadRoot = errors.New("bad evidence root")
	// ErrNoLayout: the root holds neither a Linux nor a Windows agent
	// layout, so every plugin would find nothing.
	ErrNoLayout = errors.New("no Azure agent layout")
)

// RootError is OpenRoot's error about the root argument.
type RootError struct {
	Root   string // as the plugin was given it ("" = the running system)
	Reason error  // ErrBadRoot or ErrNoLayout
	Err    error  // the accessor's error, if any
}

func (e *RootError) Error() string {
	root := e.Root
	if root == "" {
		root = "the running system's root"
	} else {
		root = fmt.Sprintf("root %q", root)
	}
	if e.Reason == ErrNoLayout && e.Err != nil {
		return fmt.Sprintf("%s: no agent layout can be read: %v", root, e.Err)
	}
	if e.Reason == ErrNoLayout {
		return fmt.Sprintf("%s holds neither a Linux agent layout (/var/lib/waagent, /var/log) nor a Windows one "+
			`(\Packages, \WindowsAzure): is this the root of the VM's file system? No rows.`, root)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", root, rootReason(e.Err))
	}
	return root + ": " + e.Reason.Error()
}

func (e *RootError) Unwrap() []error { return []error{e.Reason, e.Err} }

// rootReason is the accessor's reason without its own copy of the path.
func rootReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, fs.ErrNotExist):
			return errors.New("does not exist")
		case errors.Is(pe.Err, fs.ErrPermission):
			return errors.New("cannot be read (permission denied)")
		}
		return pe.Err
	}
	return err
}

// pathErr is err (an accessor's) as a path error naming the evidence
// path p and the operation the caller asked for.
func pathErr(op, p string, err error) error {
	if IsRefused(err) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &os.PathError{Op: op, Path: ParseEvPath(p).String(), Err: err}
}
