package diskimage

import (
	"errors"
	"io/fs"
	"strings"
)

// splitPath turns an accessor path into components. Both separators are
// accepted and a drive letter is dropped, so Root's "C:\" and "/" bases
// both name the file system's root: the image holds one volume.
func splitPath(p string) []string {
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	var out []string
	for _, c := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch c {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// joinPath appends name to dir in dir's own style ("C:\x" or "/x").
func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") || strings.HasSuffix(dir, `\`) {
		return dir + name
	}
	if dir == "" {
		return "/" + name
	}
	if strings.Contains(dir, `\`) || (len(dir) >= 2 && dir[1] == ':') {
		return dir + `\` + name
	}
	return dir + "/" + name
}

var (
	errNotDir = errors.New("not a directory")
	errIsDir  = errors.New("is a directory")
)

func notExist(op, p string) error { return &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist} }
