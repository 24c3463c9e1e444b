package protected

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
)

const functionName = "azure_decrypt"

// DecryptArgs are azure_decrypt()'s arguments.
type DecryptArgs struct {
	Data       string   `vfilter:"required,field=data,doc=The protectedSettings blob: base64 of a DER CMS EnvelopedData."`
	Thumbprint string   `vfilter:"optional,field=thumbprint,doc=protectedSettingsCertThumbprint: SHA-1 hex of the certificate the blob was encrypted to. Empty tries every key."`
	Keys       []string `vfilter:"optional,field=keys,doc=Key files to load before the evidence's own: PEM certificates and private keys or PKCS#12 (.pfx/.p12) files; paths of the accessor."`
	Password   string   `vfilter:"optional,field=password,doc=Password of the PKCS#12 files in keys (default: empty)."`
	Root       string   `vfilter:"optional,field=root,doc=Root of the evidence system (/ of the Linux VM): keys are also looked for under /var/lib/waagent there. Default: the running system."`
	Accessor   string   `vfilter:"optional,field=accessor,doc=The accessor that reads keys and root (default auto: the host's files)."`
	Redact     bool     `vfilter:"optional,field=redact,doc=Redact secrets (storage account keys and passwords and protectedParameters values and SAS signatures) in the plaintext; default true."`
}

// DecryptFunction is azure_decrypt(): it decrypts one protectedSettings
// blob and returns a dict {Plaintext, Thumbprint, Cipher, KeySource,
// Error}.
type DecryptFunction struct{}

// Functions returns the functions of this package.
func Functions() []vfilter.FunctionInterface {
	return []vfilter.FunctionInterface{DecryptFunction{}}
}

func (DecryptFunction) Info(scope vfilter.Scope, type_map *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name: functionName,
		Doc: "Decrypt an Azure VM extension protectedSettings blob (CMS EnvelopedData: 3DES or AES-CBC, " +
			"RSA PKCS#1 v1.5 or OAEP) offline, with keys from keys= files and from /var/lib/waagent under root " +
			"(<THUMB>.prv, Certificates.pem, Certificates.xml/.p7m with the transport key). Returns " +
			"{Plaintext, Thumbprint, Cipher, KeySource, Error}; secrets in Plaintext are redacted unless redact=false.",
		ArgType: type_map.AddType(scope, &DecryptArgs{}),
		Version: 1,
	}
}

func (DecryptFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	a := &DecryptArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, functionName, a) {
		return vfilter.Null{}
	}
	red := true
	if _, ok := args.Get("redact"); ok {
		red = a.Redact
	}
	e := ringFor(scope, argsSpec(a))
	res, err := e.decrypt(a.Data, a.Thumbprint)
	row := ordereddict.NewDict()
	if err != nil {
		return row.Set("Plaintext", nil).
			Set("Thumbprint", vqlkit.Str(res.Thumbprint)).
			Set("Cipher", vqlkit.Str(res.Cipher)).
			Set("KeySource", nil).
			Set("Error", err.Error())
	}
	plain := res.Plaintext
	if red {
		plain = RedactSettings(plain)
	}
	return row.Set("Plaintext", plain).
		Set("Thumbprint", vqlkit.Str(res.Thumbprint)).
		Set("Cipher", vqlkit.Str(res.Cipher)).
		Set("KeySource", vqlkit.Str(res.KeySource)).
		Set("Error", nil)
}

// Key rings are built once per query (scope) and argument set: loading
// reads files, runs PBKDF2 for PKCS#12 and RSA for the Certificates
// document, and azure_decrypt runs once per row.
const cacheKey = "azvql.protected.keyrings"

var cacheMu sync.Mutex

type ringCache struct {
	mu    sync.Mutex
	rings map[string]*ringEntry
}

// ringEntry is a loaded key ring and, when the evidence is the running
// system, its certificate store (Windows LocalMachine\My; nil elsewhere).
type ringEntry struct {
	ring  *KeyRing
	store systemStore

	// Results by thumbprint and blob: the same blob is met several times
	// in one query (the .settings file, goal states, their history, and
	// the several sources of an artifact), and each costs an RSA
	// decryption. Bounded; the cached plaintext is shared, never mutated.
	mu      sync.Mutex
	results map[[32]byte]cachedResult
}

type cachedResult struct {
	res *Result
	err error
}

// maxCachedResults bounds the per-query result cache.
const maxCachedResults = 4096

// decrypt is decryptWithStore with the per-query result cache.
func (e *ringEntry) decrypt(blob, thumbprint string) (*Result, error) {
	h := sha256.New()
	h.Write([]byte(NormalizeThumbprint(thumbprint)))
	h.Write([]byte{0})
	h.Write([]byte(blob))
	var k [32]byte
	h.Sum(k[:0])
	e.mu.Lock()
	c, ok := e.results[k]
	e.mu.Unlock()
	if ok {
		return c.res, c.err
	}
	res, err := decryptWithStore(e.ring, e.store, blob, thumbprint)
	e.mu.Lock()
	if e.results == nil {
		e.results = map[[32]byte]cachedResult{}
	}
	if len(e.results) < maxCachedResults {
		e.results[k] = cachedResult{res, err}
	}
	e.mu.Unlock()
	return res, err
}

// ringSpec says which key ring to build.
type ringSpec struct {
	acc      evidence.Accessor // nil: look accName up
	accName  string
	root     string
	keys     []string
	password string
	plugin   string // log prefix
	quiet    bool   // no log line when no key is found at all (decrypt=auto)
	dir      string // the waagent folder under root ("": WaagentDir)
}

func (s ringSpec) id() string {
	acc := s.accName
	if acc == "" {
		acc = evidence.DefaultAccessor
	}
	pw := sha256.Sum256([]byte(s.password))
	return strings.Join([]string{acc, s.root, strings.Join(s.keys, "\x00"), hex.EncodeToString(pw[:]), s.dir}, "\x01")
}

func argsSpec(a *DecryptArgs) ringSpec {
	return ringSpec{accName: a.Accessor, root: a.Root, keys: a.Keys, password: a.Password, plugin: functionName}
}

// ringFor returns the query's key ring for spec, loading it on first use.
func ringFor(scope vfilter.Scope, spec ringSpec) *ringEntry {
	id := spec.id()
	cacheMu.Lock()
	var cache *ringCache
	if v, ok := scope.GetContext(cacheKey); ok {
		cache, _ = v.(*ringCache)
	}
	if cache == nil {
		cache = &ringCache{rings: map[string]*ringEntry{}}
		scope.SetContext(cacheKey, cache)
	}
	cacheMu.Unlock()

	cache.mu.Lock()
	defer cache.mu.Unlock()
	if r, ok := cache.rings[id]; ok {
		return r
	}
	r := &ringEntry{ring: loadRing(scope, spec)}
	if liveSystem(spec.root, spec.accName) {
		if st, err := openSystemStore(); err == nil {
			r.store = st
		}
	}
	cache.rings[id] = r
	return r
}

// loadRing builds the key ring: keys= files first (in the order given),
// then the evidence's /var/lib/waagent.
func loadRing(scope vfilter.Scope, spec ringSpec) *KeyRing {
	ring := NewKeyRing()
	logf := func(format string, args ...interface{}) { vqlkit.Logf(scope, spec.plugin, format, args...) }
	acc := spec.acc
	if acc == nil {
		var err error
		if acc, err = evidence.Get(scope, spec.accName); err != nil {
			logf("%v", err)
			return ring
		}
	}
	for _, p := range spec.keys {
		f, err := evidence.OpenFile(acc, p)
		if err != nil {
			logf("keys: %v", err)
			continue
		}
		data, truncated, err := evidence.ReadAllCapped(f, maxKeyFile)
		f.Close()
		if err != nil || truncated {
			logf("keys: %s: unreadable or larger than %d bytes (%v)", p, maxKeyFile, err)
			continue
		}
		if _, err := ring.AddData(data, spec.password, p); err != nil {
			logf("keys: %v", err)
		}
	}
	root := evidence.NewRoot(acc, spec.root)
	root.Logf = logf // links met on the way are reported, never followed
	_, err := ring.LoadWaagent(root, spec.dir)
	switch {
	case err == nil:
	case evidence.IsRefused(err):
		logf("%v", err) // /var/lib/waagent is a link: said even when decrypt=auto
	case evidence.IsNotExist(err) && (len(spec.keys) > 0 || spec.quiet):
	case spec.quiet && len(ring.Keys()) == 0 && len(ring.Warnings()) == 0:
	default:
		logf("%v", err)
	}
	for _, w := range ring.Warnings() {
		logf("%s", w)
	}
	return ring
}
