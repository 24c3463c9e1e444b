package protected

// The plugin-facing API: any plugin that emits protectedSettings adds
// decrypt=, keys= and password= arguments, builds one Decryptor per query
// and calls Decrypt per setting. Keys are discovered once per query (the
// key ring is cached in the scope's context, keyed by accessor, root,
// keys and password), lazily: a walk that meets no ciphertext reads no
// key file.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/scripttext"
)

// Mode says when a plugin decrypts protectedSettings.
type Mode int

const (
	// Auto (the default): decrypt when key material is found: keys= files,
	// or private keys on the evidence (/var/lib/waagent). Without any, the
	// decryption columns stay NULL and nothing is logged per row.
	Auto Mode = iota
	// On: always try; every ciphertext gets a plaintext or a DecryptError.
	On
	// Off: never decrypt (no key file is read).
	Off
)

func (m Mode) String() string {
	switch m {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "auto"
}

// ParseMode reads a decrypt= argument. Absent, NULL, "" and "auto" are
// Auto; true, "Y", "yes", "true", "on", "1" and non-zero numbers are On;
// false, "N", "no", "false", "off", "0" and 0 are Off (artifact
// parameters arrive as strings or booleans).
func ParseMode(v interface{}) (Mode, error) {
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return Auto, nil
	case bool:
		if t {
			return On, nil
		}
		return Off, nil
	case int:
		return boolMode(t != 0), nil
	case int64:
		return boolMode(t != 0), nil
	case uint64:
		return boolMode(t != 0), nil
	case float64:
		return boolMode(t != 0), nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "", "auto":
			return Auto, nil
		case "y", "yes", "true", "on", "1":
			return On, nil
		case "n", "no", "false", "off", "0":
			return Off, nil
		}
		return Auto, fmt.Errorf("decrypt=%q: expected auto, true or false", t)
	}
	return Auto, fmt.Errorf("decrypt: expected auto, true or false, got %T", v)
}

func boolMode(b bool) Mode {
	if b {
		return On
	}
	return Off
}

// Options are a plugin's decryption arguments.
type Options struct {
	Decrypt  Mode
	Keys     []string // key files (accessor paths, not evidence paths), read before the evidence's own keys
	Password string   // password of PKCS#12 files in Keys
	Redact   bool     // redact secrets in the plaintext and the command (the plugin's redact=)
	// Accessor is the plugin's accessor= argument: with the root's Base
	// it names the key ring in the per-query cache ("" = auto).
	Accessor string
	// Plugin prefixes log lines (default azure_decrypt).
	Plugin string
	// WaagentDir is the folder (a path under the root) the agent's key
	// material is read from instead of /var/lib/waagent: the folder
	// holding a handler folder, for a lone .settings file.
	WaagentDir string
}

// NewOptions builds Options from a plugin's decrypt=, keys=, password=,
// accessor= and redact= arguments (decrypt as ExtractArgs left it: a
// vfilter.Any field).
func NewOptions(decrypt interface{}, keys []string, password, accessor string, redactOn bool) (Options, error) {
	m, err := ParseMode(decrypt)
	return Options{Decrypt: m, Keys: keys, Password: password, Redact: redactOn, Accessor: accessor}, err
}

// Decryptor decrypts the protected settings a plugin meets during one
// query. A nil *Decryptor is valid and never decrypts.
type Decryptor struct {
	scope vfilter.Scope
	root  *evidence.Root
	opts  Options

	once  sync.Once
	entry *ringEntry // the query's cached key ring, store and results
	ring  *KeyRing
	store systemStore // the running system's certificate store (Windows), nil elsewhere
	on    bool
}

// NewDecryptor returns the query's decryptor for the evidence under root.
// It reads nothing yet: keys are loaded (or taken from the query's cache)
// when the first ciphertext is decrypted or Enabled is called.
func NewDecryptor(scope vfilter.Scope, root *evidence.Root, opts Options) *Decryptor {
	if opts.Plugin == "" {
		opts.Plugin = functionName
	}
	return &Decryptor{scope: scope, root: root, opts: opts}
}

func (d *Decryptor) load() {
	d.once.Do(func() {
		if d.opts.Decrypt == Off || d.root == nil {
			return
		}
		e := ringFor(d.scope, ringSpec{
			acc:      d.root.Acc,
			accName:  d.opts.Accessor,
			root:     d.root.Base,
			keys:     d.opts.Keys,
			password: d.opts.Password,
			plugin:   d.opts.Plugin,
			quiet:    d.opts.Decrypt == Auto,
			dir:      d.opts.WaagentDir,
		})
		d.entry, d.ring, d.store = e, e.ring, e.store
		d.on = d.opts.Decrypt == On || len(d.ring.Keys()) > 0 || d.store != nil
	})
}

// Enabled says whether Decrypt decrypts: decrypt=true, or decrypt=auto
// and at least one private key was found. It loads the keys.
func (d *Decryptor) Enabled() bool {
	if d == nil {
		return false
	}
	d.load()
	return d.on
}

// KeyRing is the loaded key ring (nil when decryption is off).
func (d *Decryptor) KeyRing() *KeyRing {
	if d == nil {
		return nil
	}
	d.load()
	return d.ring
}

// Decrypted is the outcome of one Decryptor.Decrypt.
type Decrypted struct {
	// Attempted is false when decryption is off, when decrypt=auto found
	// no key, and for a blob that is empty or the agent's redaction marker
	// (***REDACTED***): the columns are then NULL.
	Attempted bool
	// Plaintext is a *ordereddict.Dict for a JSON object (protected
	// settings always are), else a string; secrets redacted when
	// Options.Redact. nil on error.
	Plaintext  interface{}
	Thumbprint string // of the key that decrypted it (the thumbprint asked for, on error)
	Cipher     string // des-ede3-cbc, aes-256-cbc, ... ("" when the blob did not parse)
	KeySource  string // where the key came from
	Error      string // why decryption failed; "" on success
	Err        error  // the typed error (NoKeyError, CorruptError, ...), nil on success

	// The command the plaintext asks the handler to run (see
	// CommandFromPlaintext), redacted when Options.Redact.
	Command      string
	CommandField string // commandToExecute, script, source.script
	CommandNote  string // a script whose decoding was incomplete
}

// Columns returns the values of the ProtectedSettingsDecrypted and
// DecryptError columns: NULL when not attempted.
func (r *Decrypted) Columns() (plaintext, decryptError interface{}) {
	if r == nil || !r.Attempted {
		return nil, nil
	}
	if r.Err != nil {
		return nil, r.Error
	}
	return r.Plaintext, nil
}

// Column names a plugin adds (docs/plugins-protected.md, Integrating
// into a plugin).
const (
	ColumnDecrypted    = "ProtectedSettingsDecrypted"
	ColumnDecryptError = "DecryptError"
	// CommandSource is the CommandSource value of a command found in
	// decrypted protected settings.
	CommandSource = "protectedSettings"
)

// InsertColumns returns row with the ProtectedSettingsDecrypted and
// DecryptError columns (see Columns) right after the column named after,
// or at the end when row has no such column. row itself is not changed.
func (r *Decrypted) InsertColumns(row *ordereddict.Dict, after string) *ordereddict.Dict {
	plain, derr := r.Columns()
	out := ordereddict.NewDict()
	done := false
	for _, it := range row.Items() {
		if it.Key == ColumnDecrypted || it.Key == ColumnDecryptError {
			continue
		}
		out.Set(it.Key, it.Value)
		if !done && it.Key == after {
			out.Set(ColumnDecrypted, plain).Set(ColumnDecryptError, derr)
			done = true
		}
	}
	if !done {
		out.Set(ColumnDecrypted, plain).Set(ColumnDecryptError, derr)
	}
	return out
}

// IsRedactionMarker says whether a protectedSettings value is the marker
// agents >= 2.8 write in history copies instead of the ciphertext.
func IsRedactionMarker(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "*") && strings.HasSuffix(t, "*") && strings.Contains(strings.ToUpper(t), "REDACTED")
}

// Decrypt decrypts one protectedSettings blob (base64 DER CMS) with the
// key for thumbprint. It never fails: problems are in the result's Error.
func (d *Decryptor) Decrypt(blob, thumbprint string) Decrypted {
	if d == nil || strings.TrimSpace(blob) == "" || IsRedactionMarker(blob) {
		return Decrypted{}
	}
	if !d.Enabled() {
		return Decrypted{}
	}
	res, err := d.entry.decrypt(blob, thumbprint)
	out := Decrypted{Attempted: true}
	if res != nil {
		out.Thumbprint, out.Cipher = res.Thumbprint, res.Cipher
	}
	if err != nil {
		out.Err, out.Error = err, err.Error()
		return out
	}
	out.KeySource = res.KeySource
	out.Command, out.CommandField, out.CommandNote = commandFromPlaintext(res.Plaintext)
	out.Plaintext = res.Plaintext
	if d.opts.Redact {
		out.Plaintext = RedactSettings(res.Plaintext)
		out.Command = redact.CommandLine(out.Command)
	}
	return out
}

// NotCiphertext is the result for a protectedSettings value that is not
// a string (kind says what it is: "a JSON object", "a number", ...): there
// is nothing to decrypt, and unless decryption is off the row says so in
// DecryptError rather than leaving both columns NULL.
func (d *Decryptor) NotCiphertext(kind string) Decrypted {
	if d == nil || d.opts.Decrypt == Off || kind == "" {
		return Decrypted{}
	}
	err := fmt.Errorf("protectedSettings is %s, not base64 ciphertext: nothing to decrypt", kind)
	return Decrypted{Attempted: true, Err: err, Error: err.Error()}
}

// JSONKind names a settings value that is not a string or null: "a JSON
// object", "a list", "a number", "a boolean"; "" for a string or nil.
func JSONKind(v any) string {
	switch v.(type) {
	case nil, string:
		return ""
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case float64, int64, int, uint64, json.Number:
		return "a number"
	case *ordereddict.Dict, map[string]any:
		return "a JSON object"
	}
	return fmt.Sprintf("a %T", v)
}

// RawJSONKind is JSONKind for raw JSON text.
func RawJSONKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '{':
		return "a JSON object"
	case c == '[':
		return "a list"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return ""
}

// RedactSettings redacts extension settings (public or decrypted
// protected): redact.Value (storage keys, passwords, protectedParameters
// values, SAS signatures), then redact.CommandLine on the command fields
// (commandToExecute, script as text or lines, source.script), as the
// extensions plugins do. Containers are copied.
func RedactSettings(v interface{}) interface{} {
	return redact.Settings(v)
}

// CommandFromPlaintext returns the command decrypted protected settings
// ask the handler to run, and the field it came from: commandToExecute
// (CSE, RC v1), script (RC v1 and CSE Linux: base64, optionally gzip,
// decoded with scripttext.Decode; Windows RC v1: a list of lines joined
// with newlines) or source.script (RC v2). Keys match case-insensitively,
// as the Go handlers' encoding/json does. "", "" when there is none.
func CommandFromPlaintext(plain interface{}) (command, field string) {
	command, field, _ = commandFromPlaintext(plain)
	return command, field
}

func commandFromPlaintext(plain interface{}) (command, field, note string) {
	d, _ := plain.(*ordereddict.Dict)
	if d == nil {
		return "", "", ""
	}
	if s, _ := getFold(d, "commandToExecute").(string); s != "" {
		return s, "commandToExecute", ""
	}
	switch t := getFold(d, "script").(type) {
	case string:
		if t != "" {
			cmd, note := scripttext.Decode(t)
			return cmd, "script", note
		}
	case []interface{}:
		lines := make([]string, 0, len(t))
		for _, l := range t {
			if s, ok := l.(string); ok {
				lines = append(lines, s)
			}
		}
		if len(lines) > 0 {
			return strings.Join(lines, "\n"), "script", ""
		}
	}
	if src, ok := getFold(d, "source").(*ordereddict.Dict); ok {
		if s, _ := getFold(src, "script").(string); s != "" {
			return s, "source.script", ""
		}
	}
	return "", "", ""
}

func getFold(d *ordereddict.Dict, key string) interface{} {
	if v, ok := d.Get(key); ok {
		return v
	}
	for _, k := range d.Keys() {
		if strings.EqualFold(k, key) {
			v, _ := d.Get(k)
			return v
		}
	}
	return nil
}
