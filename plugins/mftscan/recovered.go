package mftscan

import (
	"context"
	"errors"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// RecoveryColumns follow the live-file columns in the rows of
// azure_mft_settings and azure_mft_status: where the file was found and
// how much of it could be trusted.
var RecoveryColumns = []string{"Record", "Sequence", "InUse", "PathComplete", "PathNote",
	"ContentSource", "ContentZeros", "SICreated", "SIModified", "SIChanged", "FNCreated", "FNModified"}

type recoveredArgs struct {
	Root     string      `vfilter:"optional,field=root,doc=Unused: the whole volume of the accessor is read (kept for the plugin contract)."`
	Accessor string      `vfilter:"optional,field=accessor,doc=An accessor that exposes an NTFS volume (default auto: with vql --image, the image's volume)."`
	Image    string      `vfilter:"optional,field=image,doc=A disk image file on this system (raw, fixed VHD, VHDX, VMDK, E01; opened read-only) whose OS NTFS volume is read instead of the accessor's."`
	Redact   bool        `vfilter:"optional,field=redact,doc=Redact secrets as the live-file plugins do (default true)."`
	Decrypt  vfilter.Any `vfilter:"optional,field=decrypt,doc=azure_mft_settings: decrypt protectedSettings: auto (default: when keys are given) or true or false."`
	Keys     []string    `vfilter:"optional,field=keys,doc=azure_mft_settings: key files on this system (file accessor): the tenant certificate as .pfx or PEM."`
	Password string      `vfilter:"optional,field=password,doc=azure_mft_settings: password of the PKCS#12 files in keys."`
}

// recoveredPlugin is azure_mft_settings or azure_mft_status: every MFT
// entry (deleted or not) named *.settings or *.status under the
// extension folders, parsed by the live-file parsers.
type recoveredPlugin struct {
	name, suffix, doc string
	live              []string
}

// SettingsPlugin is azure_mft_settings.
var SettingsPlugin = recoveredPlugin{name: "azure_mft_settings", suffix: ".settings", live: extensions.SettingsColumns,
	doc: "Every .settings file of an NTFS volume's extension folders found in the MFT, deleted or not, in the columns of " +
		"azure_extension_settings (parsed and decrypted by the same code) followed by the recovery columns " +
		"(Record, InUse, PathComplete, ContentSource: resident, or clusters possibly reused for a deleted file, ContentZeros, MFT times)."}

// StatusPlugin is azure_mft_status.
var StatusPlugin = recoveredPlugin{name: "azure_mft_status", suffix: ".status", live: extensions.StatusColumns,
	doc: "Every .status file of an NTFS volume's extension folders found in the MFT, deleted or not, in the columns of " +
		"azure_extension_status followed by the recovery columns (as azure_mft_settings)."}

func (p recoveredPlugin) Columns() []string {
	return append(append([]string(nil), p.live...), RecoveryColumns...)
}

func (p recoveredPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{Name: p.name, Doc: p.doc, ArgType: tm.AddType(scope, &recoveredArgs{}), Version: 1}
}

func (p recoveredPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	a := &recoveredArgs{}
	return vqlkit.Run(ctx, scope, args, p.name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		vol, closeVol, err := openVolume(scope, &entriesArgs{Accessor: a.Accessor, Image: a.Image})
		if err != nil {
			vqlkit.Errorf(scope, p.name, "%v", err)
			return
		}
		defer closeVol()
		var dec *protected.Decryptor
		if p.suffix == ".settings" {
			opts, err := protected.NewOptions(a.Decrypt, a.Keys, a.Password, "file", red)
			if err != nil {
				vqlkit.Errorf(scope, p.name, "%v", err)
				return
			}
			opts.Plugin = p.name
			var root *evidence.Root
			if acc, ok := vol.(evidence.Accessor); ok {
				root = evidence.NewRoot(acc, `C:\`)
			}
			dec = protected.NewDecryptor(scope, root, opts)
		}
		err = Scan(ctx, vol.NTFSContext(), append([]string(nil), ExtensionPrefixes...), func(e Entry) error {
			if e.IsDir || !strings.HasSuffix(strings.ToLower(e.Name), p.suffix) {
				return nil
			}
			r := extensions.Recovered{OSPath: e.Path, Size: e.Size, Mtime: e.SIModified}
			switch {
			case e.ContentError != "":
				r.ReadErr = errors.New(e.ContentError)
			case e.ContentZeros:
				r.ReadErr = errors.New("its clusters read as zeros (TRIM, or reused)")
			default:
				r.Data, r.Truncated = e.Content, int64(len(e.Content)) < e.Size
			}
			var row *ordereddict.Dict
			var msgs []string
			if dec != nil {
				row, msgs = extensions.RecoveredSettingsRow(r, dec, red)
			} else {
				row, msgs = extensions.RecoveredStatusRow(r, red)
			}
			for _, m := range msgs {
				vqlkit.Logf(scope, p.name, "%s: %s", e.Path, m)
			}
			row.Set("Record", e.Record).Set("Sequence", int64(e.Sequence)).Set("InUse", e.InUse).
				Set("PathComplete", e.PathComplete).Set("PathNote", vqlkit.Str(e.PathNote)).
				Set("ContentSource", vqlkit.Str(e.ContentSource)).Set("ContentZeros", e.ContentZeros).
				Set("SICreated", vqlkit.Time(e.SICreated)).Set("SIModified", vqlkit.Time(e.SIModified)).
				Set("SIChanged", vqlkit.Time(e.SIChanged)).Set("FNCreated", vqlkit.Time(e.FNCreated)).
				Set("FNModified", vqlkit.Time(e.FNModified))
			if !vqlkit.Send(ctx, out, row) {
				return context.Canceled
			}
			return nil
		}, func(pr Problem) {
			vqlkit.Warnf(scope, p.name, "%s: %v", volumeName(vol, &entriesArgs{Accessor: a.Accessor}), pr)
		})
		if err != nil && err != context.Canceled {
			vqlkit.Errorf(scope, p.name, "%v", err)
		}
	})
}
