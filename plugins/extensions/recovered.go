package extensions

import (
	"errors"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// Recovered is a .settings or .status document read by other means
// than an accessor: a deleted file's content recovered from its MFT
// record or clusters. Its rows are those of the live-file plugins.
type Recovered struct {
	OSPath    string
	Data      []byte
	Size      int64 // of the file as its record says
	Mtime     time.Time
	Truncated bool  // Data holds less than Size
	ReadErr   error // why no content could be recovered (Data then nil)
}

func (r Recovered) meta() fileMeta {
	return fileMeta{OSPath: r.OSPath, Size: r.Size, Mtime: vqlkit.Time(r.Mtime), Truncated: r.Truncated, ReadErr: r.ReadErr}
}

// RecoveredSettingsRow is the azure_extension_settings row of r,
// decrypted by dec (nil: not attempted) as a live file is; the messages
// are what the live plugin would log (parse errors, duplicate keys).
func RecoveredSettingsRow(r Recovered, dec *protected.Decryptor, red bool) (*ordereddict.Dict, []string) {
	if r.ReadErr != nil || r.Data == nil {
		if r.ReadErr == nil {
			r.ReadErr = errors.New("no content recovered")
		}
		return settingsRowDecrypt(dec, protected.WaagentDir, r.meta(), nil, nil, red), nil
	}
	s, perr := ParseSettings(r.Data)
	var msgs []string
	if perr != nil {
		msgs = append(msgs, perr.Error())
	}
	for _, d := range s.Dups {
		msgs = append(msgs, d.Message(red))
	}
	return settingsRowDecrypt(dec, protected.WaagentDir, r.meta(), s, perr, red), msgs
}

// RecoveredStatusRow is the azure_extension_status row of r.
func RecoveredStatusRow(r Recovered, red bool) (*ordereddict.Dict, []string) {
	if r.ReadErr != nil || r.Data == nil {
		if r.ReadErr == nil {
			r.ReadErr = errors.New("no content recovered")
		}
		return StatusRow(r.meta(), nil, nil, red), nil
	}
	s, perr := ParseStatus(r.Data)
	var msgs []string
	if perr != nil {
		msgs = append(msgs, perr.Error())
	}
	for _, d := range s.Dups {
		msgs = append(msgs, d.Message(red))
	}
	return StatusRow(r.meta(), s, perr, red), msgs
}
