package extensions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{
		HandlersPlugin{}, SettingsPlugin{}, StatusPlugin{}, ExecutionsPlugin{}, AggregateStatusPlugin{},
	}
}

// Functions returns the functions of this package (none yet).
func Functions() []vfilter.FunctionInterface { return nil }

const (
	docAccessor = "The accessor that reads the evidence (default auto: the host's files)."
)

// readDoc reads a settings/status document through the accessor, capped.
// A file below root (what glob(root=...) returns) is read through the
// evidence Root, so a linked folder on its way is refused as everywhere
// else; a path outside root is the caller's own and only its last
// component is checked.
//
// r is the Root of root, shared by the files of one call (nil: made here).
func readDoc(acc evidence.Accessor, r *evidence.Root, root, path string) ([]byte, evidence.FileInfo, bool, error) {
	if root != "" {
		if ev := OSPathFor(root, path); ev != path {
			if r == nil {
				r = evidence.NewRoot(acc, root)
			}
			// Fast path: Root.Open opens only a regular file reached
			// through no link (one openat2 on Linux); the open file says
			// what Lstat would. Any failure takes the checked path,
			// which gives the documented reasons.
			if f, err := r.Open(ev); err == nil {
				if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
					if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
						data, trunc, err := evidence.ReadAllCapped(f, MaxDocBytes)
						f.Close()
						return data, evidence.FileInfo{Name: fi.Name(), Path: path, Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime().UTC()}, trunc, err
					}
				}
				f.Close()
			}
			e, err := r.Lstat(ev)
			if err != nil {
				return nil, e.FileInfo, false, err
			}
			if err := evidence.CheckFile(e); err != nil {
				return nil, e.FileInfo, false, refusedReason(path, e.FileInfo, err)
			}
			f, err := r.Open(ev)
			if err != nil {
				return nil, e.FileInfo, false, err
			}
			defer f.Close()
			data, trunc, err := evidence.ReadAllCapped(f, MaxDocBytes)
			return data, e.FileInfo, trunc, err
		}
	}
	fi, err := acc.Lstat(path)
	if err != nil {
		return nil, fi, false, err
	}
	if fi.IsDir {
		return nil, fi, false, &fs.PathError{Op: "open", Path: path, Err: errIsDir}
	}
	if fi.IsLink {
		return nil, fi, false, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	}
	if t := evidence.TypeName(fi.Mode); t != "file" {
		// A FIFO would block the open forever; a device is not a document.
		return nil, fi, false, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("a %s, %w", t, evidence.ErrNotRegular)}
	}
	f, err := acc.Open(path)
	if err != nil {
		return nil, fi, false, err
	}
	defer f.Close()
	data, trunc, err := evidence.ReadAllCapped(f, MaxDocBytes)
	return data, fi, trunc, err
}

// refusedReason keeps readDoc's documented reasons ("open: symlink not
// followed", "open: is a directory") for a refused last component.
func refusedReason(path string, fi evidence.FileInfo, err error) error {
	switch {
	case fi.IsDir && !fi.IsLink:
		return &fs.PathError{Op: "open", Path: path, Err: errIsDir}
	case fi.IsLink:
		return &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	}
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("a %s, %w", evidence.TypeName(fi.Mode), evidence.ErrNotRegular)}
}

// ---------------------------------------------------------------------
// azure_extension_settings

type settingsArgs struct {
	Filenames []string    `vfilter:"required,field=filename,doc=One or more .settings files (accessor paths)."`
	Accessor  string      `vfilter:"optional,field=accessor,doc=The accessor that reads the files (default auto)."`
	Root      string      `vfilter:"optional,field=root,doc=The evidence root the files lie under: OSPath is then the path on the evidence system (/var/lib/waagent/...)."`
	Redact    bool        `vfilter:"optional,field=redact,doc=Redact secrets (SAS signatures and storage keys and passwords) in settings and commands and URIs; default true."`
	Decrypt   vfilter.Any `vfilter:"optional,field=decrypt,doc=Decrypt protectedSettings: auto (default: when key material is found under root or in keys) or true or false."`
	Keys      []string    `vfilter:"optional,field=keys,doc=Key files (accessor paths) read before the evidence's own /var/lib/waagent keys: PEM certificates and private keys or PKCS#12."`
	Password  string      `vfilter:"optional,field=password,doc=Password of the PKCS#12 files in keys (default empty)."`
}

// SettingsPlugin is azure_extension_settings.
type SettingsPlugin struct{}

func (SettingsPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "azure_extension_settings",
		Doc:     "Parse VM extension .settings files (config/<seq>.settings, config/<name>.<seq>.settings): public settings, command, file URIs, protected-settings ciphertext. A 0-byte file is a row (Empty).",
		ArgType: tm.AddType(scope, &settingsArgs{}),
		Version: 1,
	}
}

func (SettingsPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_extension_settings"
	a := &settingsArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		acc, err := evidence.Get(scope, a.Accessor)
		if err != nil {
			vqlkit.Logf(scope, name, "%v", err)
			return
		}
		popts, err := protected.NewOptions(a.Decrypt, a.Keys, a.Password, a.Accessor, red)
		if err != nil {
			vqlkit.Logf(scope, name, "%v", err)
			return
		}
		popts.Plugin = name
		root := evidence.NewRoot(acc, a.Root)
		keys := newSettingsKeys(scope, root, popts, a.Root)
		for _, fn := range a.Filenames {
			dec, looked := keys.For(fn)
			data, fi, trunc, rerr := readDoc(acc, root, a.Root, fn)
			m := metaFromInfo(OSPathFor(a.Root, fn), fi)
			m.Truncated = trunc
			if rerr != nil {
				rerr = reason(rerr)
				vqlkit.Logf(scope, name, "%s: %v", m.OSPath, rerr)
				if evidence.IsNotExist(rerr) {
					continue
				}
				m.ReadErr = rerr
				if !vqlkit.Send(ctx, out, settingsRowDecrypt(dec, looked, m, nil, nil, red)) {
					return
				}
				continue
			}
			s, perr := ParseSettings(data)
			if perr != nil {
				vqlkit.Logf(scope, name, "%s: %v", m.OSPath, perr)
			}
			for _, d := range s.Dups {
				vqlkit.Logf(scope, name, "%s: %s", m.OSPath, d.Message(red))
			}
			if !vqlkit.Send(ctx, out, settingsRowDecrypt(dec, looked, m, s, perr, red)) {
				return
			}
		}
	})
}

// ---------------------------------------------------------------------
// azure_extension_status

type statusArgs struct {
	Filenames []string `vfilter:"required,field=filename,doc=One or more .status files (accessor paths)."`
	Accessor  string   `vfilter:"optional,field=accessor,doc=The accessor that reads the files (default auto)."`
	Root      string   `vfilter:"optional,field=root,doc=The evidence root the files lie under: OSPath is then the path on the evidence system (/var/lib/waagent/...)."`
	Redact    bool     `vfilter:"optional,field=redact,doc=Redact secrets (SAS signatures and storage keys and passwords) in messages and output; default true."`
}

// StatusPlugin is azure_extension_status.
type StatusPlugin struct{}

func (StatusPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "azure_extension_status",
		Doc:     "Parse VM extension .status files: operation, status, message, stdout/stderr and exit code where stated, timestamp, and whether the file is a placeholder written before the run.",
		ArgType: tm.AddType(scope, &statusArgs{}),
		Version: 1,
	}
}

func (StatusPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_extension_status"
	a := &statusArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		acc, err := evidence.Get(scope, a.Accessor)
		if err != nil {
			vqlkit.Logf(scope, name, "%v", err)
			return
		}
		root := evidence.NewRoot(acc, a.Root)
		for _, fn := range a.Filenames {
			data, fi, trunc, rerr := readDoc(acc, root, a.Root, fn)
			m := metaFromInfo(OSPathFor(a.Root, fn), fi)
			m.Truncated = trunc
			if rerr != nil {
				rerr = reason(rerr)
				vqlkit.Logf(scope, name, "%s: %v", m.OSPath, rerr)
				if evidence.IsNotExist(rerr) {
					continue
				}
				m.ReadErr = rerr
				if !vqlkit.Send(ctx, out, StatusRow(m, nil, nil, red)) {
					return
				}
				continue
			}
			s, perr := ParseStatus(data)
			if perr != nil {
				vqlkit.Logf(scope, name, "%s: %v", m.OSPath, perr)
			}
			for _, d := range s.Dups {
				vqlkit.Logf(scope, name, "%s: %s", m.OSPath, d.Message(red))
			}
			if !vqlkit.Send(ctx, out, StatusRow(m, s, perr, red)) {
				return
			}
		}
	})
}

// reason drops the accessor path from a path error: rows and logs name
// files by OSPath, never by the analyst's own paths.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// settingsRowDecrypt is SettingsRow with the ProtectedSettingsDecrypted
// and DecryptError columns after ProtectedSettings, and the command of
// the decrypted settings when the public ones have none.
func settingsRowDecrypt(dec *protected.Decryptor, looked string, m fileMeta, s *Settings, perr error, red bool) *ordereddict.Dict {
	var d protected.Decrypted
	if s != nil && s.ProtectedKind != "" {
		d = dec.NotCiphertext(s.ProtectedKind)
	} else if s != nil {
		d = withLooked(dec.Decrypt(s.ProtectedSettings, s.Thumbprint), looked)
	}
	row := settingsRow(m, s, perr, red, &d)
	if s != nil && s.Command == "" && d.Command != "" {
		row.Update("Command", d.Command).Update("CommandField", protected.CommandSource+"."+d.CommandField).
			Update("CommandNote", vqlkit.Str(d.CommandNote))
	}
	return row
}
