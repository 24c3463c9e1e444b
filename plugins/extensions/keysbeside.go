package extensions

import (
	"errors"
	"strings"

	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
)

// A .settings file given alone (no root=, no keys=) is usually a copy of
// the agent's folder: <waagent>/<Handler>-<Version>/config/<n>.settings,
// with the tenant key material next to the handler folder in <waagent>
// (<THUMB>.prv, Certificates.pem, Certificates.xml + TransportPrivate.pem).
// settingsKeys gives each file the decryptor that reads that folder.
type settingsKeys struct {
	scope   vfilter.Scope
	root    *evidence.Root
	opts    protected.Options
	beside  bool // root= and keys= absent: look beside each file
	dflt    *protected.Decryptor
	byDir   map[string]*protected.Decryptor
	rootDir string // where dflt looks, for DecryptError
}

func newSettingsKeys(scope vfilter.Scope, root *evidence.Root, opts protected.Options, rootArg string) *settingsKeys {
	k := &settingsKeys{scope: scope, root: root, opts: opts, byDir: map[string]*protected.Decryptor{},
		beside: rootArg == "" && len(opts.Keys) == 0 && opts.Decrypt != protected.Off}
	k.dflt = protected.NewDecryptor(scope, root, opts)
	k.rootDir = protected.WaagentDir // an evidence path: rows never name the analyst's folders
	return k
}

// For returns the decryptor for a file and the folder it reads keys
// from.
func (k *settingsKeys) For(filename string) (*protected.Decryptor, string) {
	if !k.beside {
		return k.dflt, k.rootDir
	}
	dir := waagentDirOf(filename)
	if dir == "" {
		return k.dflt, k.rootDir
	}
	d, ok := k.byDir[dir]
	if !ok {
		opts := k.opts
		opts.WaagentDir = dir
		d = protected.NewDecryptor(k.scope, k.root, opts)
		k.byDir[dir] = d
	}
	return d, dir
}

// waagentDirOf is the folder holding the handler folder of
// <dir>/<Handler>-<Version>/config/<file>, or "" when the file is not
// in a config folder. Both separators are accepted.
func waagentDirOf(filename string) string {
	parent := func(p string) (string, string) {
		i := strings.LastIndexAny(p, `/\`)
		if i < 0 {
			return "", p
		}
		return p[:i], p[i+1:]
	}
	cfgDir, _ := parent(filename)
	handlerDir, cfg := parent(cfgDir)
	if !strings.EqualFold(cfg, "config") {
		return ""
	}
	dir, handler := parent(handlerDir)
	if dir == "" || handler == "" {
		return ""
	}
	return dir
}

// withLooked adds where the keys were looked for to a "no keys were
// loaded" DecryptError.
func withLooked(d protected.Decrypted, dir string) protected.Decrypted {
	var nk *protected.NoKeyError
	if d.Err == nil || !errors.As(d.Err, &nk) || !strings.Contains(d.Error, "no keys were loaded") {
		return d
	}
	d.Error += " (looked for <THUMB>.crt/.prv, Certificates.pem and Certificates.xml/.p7m with TransportPrivate.pem in " +
		dir + "; pass keys= or root=)"
	return d
}
