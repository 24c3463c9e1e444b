package mftscan

import (
	"context"
	"fmt"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/diskimage"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

// ExtensionPrefixes are where the Windows agent and its handlers keep
// what an investigation of extension runs needs.
var ExtensionPrefixes = []string{
	catalog.WindowsPluginsDir,
	`C:\WindowsAzure\Logs`,
	`C:\WindowsAzure\Config`,
	`C:\WindowsAzure\CollectGuestLogsTemp`,
}

// Volume is an accessor that exposes an NTFS volume (the vql host's
// --image accessor does).
type Volume interface {
	NTFSContext() *ntfs.NTFSContext
}

type entriesArgs struct {
	Root     string   `vfilter:"optional,field=root,doc=Unused: the whole volume of the accessor is read (kept for the plugin contract)."`
	Accessor string   `vfilter:"optional,field=accessor,doc=An accessor that exposes an NTFS volume (default auto: with vql --image, the image's volume)."`
	Image    string   `vfilter:"optional,field=image,doc=A disk image file on this system (raw, fixed VHD, VHDX, VMDK, E01; opened read-only) whose OS NTFS volume is read instead of the accessor's."`
	Prefixes []string `vfilter:"optional,field=prefixes,doc=Windows paths whose MFT entries are returned (default the agent's and handlers' folders: C:\\Packages\\Plugins, C:\\WindowsAzure\\Logs, Config, CollectGuestLogsTemp)."`
	Redact   bool     `vfilter:"optional,field=redact,doc=Replace secrets in recovered content with [REDACTED] (default true)."`
}

var entryColumns = vqlkit.NewColumns("Record", "Sequence", "InUse", "IsDir", "Name", "OSPath",
	"PathComplete", "PathNote", "Size", "Resident", "Content", "ContentSource", "ContentZeros", "ContentError",
	"SICreated", "SIModified", "SIChanged", "SIAccessed",
	"FNCreated", "FNModified", "FNChanged", "FNAccessed",
	"Command", "CommandField", "Protected", "Status", "StatusCode", "StatusTime", "StatusMessage", "ParseError")

// EntriesPlugin is azure_mft_entries.
type EntriesPlugin struct{}

func (EntriesPlugin) Columns() []string { return entryColumns.Names() }

func (EntriesPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: "azure_mft_entries",
		Doc: "Every MFT entry of an NTFS volume, in use or deleted, under the extension folders: " +
			"path rebuilt from parent references (PathComplete false and PathNote say why when not), " +
			"$STANDARD_INFORMATION and $FILE_NAME times, size, and the first 64 KiB of content: from the record " +
			"(resident) or from the clusters (ContentSource clusters: for a deleted file possibly reused; " +
			"ContentZeros when they read as zeros, as TRIM leaves them); recovered .settings and .status " +
			"parsed by the live-file parsers (Command, Status, ...; redacted unless redact=false).",
		ArgType: tm.AddType(scope, &entriesArgs{}),
		Version: 1,
	}
}

func (EntriesPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_mft_entries"
	a := &entriesArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		vol, closeVol, err := openVolume(scope, a)
		if err != nil {
			vqlkit.Errorf(scope, name, "%v", err)
			return
		}
		defer closeVol()
		prefixes := a.Prefixes
		if len(prefixes) == 0 {
			prefixes = append([]string(nil), ExtensionPrefixes...)
		}
		redactOn := vqlkit.Redact(args, a.Redact)
		err = Scan(ctx, vol.NTFSContext(), prefixes, func(e Entry) error {
			if !vqlkit.Send(ctx, out, entryRow(e, redactOn)) {
				return context.Canceled
			}
			return nil
		}, func(p Problem) { vqlkit.Warnf(scope, name, "%s: %v", volumeName(vol, a), p) })
		if err != nil && err != context.Canceled {
			vqlkit.Errorf(scope, name, "%v", err)
		}
	})
}

// volumeName names the volume in messages about its records.
func volumeName(vol Volume, a *entriesArgs) string {
	if n, ok := vol.(interface{ VolumeName() string }); ok {
		return n.VolumeName()
	}
	return "accessor " + a.Accessor
}

// openVolume is the NTFS volume of image= if given, else the accessor's.
func openVolume(scope vfilter.Scope, a *entriesArgs) (Volume, func(), error) {
	if a.Image != "" {
		img, err := diskimage.Open(a.Image, diskimage.AutoPartition)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range img.Problems {
			vqlkit.Warnf(scope, "azure_mft_entries", "%v", p)
		}
		vol, ok := img.Accessor().(Volume)
		if !ok {
			img.Close()
			return nil, nil, fmt.Errorf("image %s: the volume chosen (%s) is not NTFS", a.Image, img.Chosen.Partition)
		}
		return vol, func() { img.Close() }, nil
	}
	acc, err := evidence.Get(scope, a.Accessor)
	if err != nil {
		return nil, nil, err
	}
	vol, ok := acc.(Volume)
	if !ok {
		return nil, nil, fmt.Errorf("accessor %q is not an NTFS volume: use vql --image or image= with an NTFS disk image", a.Accessor)
	}
	return vol, func() {}, nil
}

func entryRow(e Entry, redactOn bool) *ordereddict.Dict {
	var content, note, source, zeros, cerr any
	if e.ContentSource != "" {
		source = e.ContentSource
		zeros = e.ContentZeros
		text, _ := evidence.DecodeText(e.Content)
		s := string(text)
		if redactOn {
			s = redact.String(s)
		}
		content = s
	}
	if e.ContentError != "" {
		cerr = e.ContentError
	}
	if e.PathNote != "" {
		note = e.PathNote
	}
	p := parseRecovered(e, redactOn)
	return entryColumns.Row(e.Record, int64(e.Sequence), e.InUse, e.IsDir, e.Name, e.Path,
		e.PathComplete, note, e.Size, e.Resident, content, source, zeros, cerr,
		vqlkit.Time(e.SICreated), vqlkit.Time(e.SIModified), vqlkit.Time(e.SIChanged), vqlkit.Time(e.SIAccessed),
		vqlkit.Time(e.FNCreated), vqlkit.Time(e.FNModified), vqlkit.Time(e.FNChanged), vqlkit.Time(e.FNAccessed),
		p.command, p.field, p.protected, p.state, p.code, p.time, p.message, p.err)
}

// parsed is what the live-file parsers (plugins/extensions) say of a
// recovered .settings or .status; NULL columns otherwise.
type parsed struct {
	command, field, protected, state, code, time, message, err any
}

func parseRecovered(e Entry, redactOn bool) parsed {
	var out parsed
	if e.ContentSource == "" || e.ContentZeros || e.IsDir || int64(len(e.Content)) < e.Size {
		return out
	}
	str := func(s string, f func(string) string) any {
		if s == "" {
			return nil
		}
		if redactOn {
			s = f(s)
		}
		return s
	}
	name := strings.ToLower(e.Name)
	switch {
	case strings.HasSuffix(name, ".settings"):
		s, err := extensions.ParseSettings(e.Content)
		if err != nil {
			out.err = err.Error()
		}
		if s != nil && !s.Empty {
			out.command, out.field, out.protected = str(s.Command, redact.CommandLine), vqlkit.Str(s.CommandField), s.Protected
		}
	case strings.HasSuffix(name, ".status"):
		s, err := extensions.ParseStatus(e.Content)
		if err != nil {
			out.err = err.Error()
		}
		if s != nil && !s.Empty {
			out.state, out.code, out.time = vqlkit.Str(s.State), s.Code, vqlkit.Time(s.Timestamp)
			out.message = str(s.Message, redact.String)
		}
	}
	return out
}

// Plugins lists this package's plugins.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{EntriesPlugin{}, SettingsPlugin, StatusPlugin, ExecutionsPlugin{}, USNPlugin{}}
}
