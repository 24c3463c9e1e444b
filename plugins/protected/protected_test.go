package protected

import (
	"bytes"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"

	"github.com/azvql/azvql/plugins/evidence"
)

func readTD(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blob(t testing.TB, name string) string {
	return strings.TrimSpace(string(readTD(t, "blobs/"+name+".b64")))
}

// thumbs reads testdata/thumbprints.tsv (gen.sh makes new keys each run).
func thumbs(t testing.TB) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(readTD(t, "thumbprints.tsv"))), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

func ringWith(t testing.TB, files ...string) *KeyRing {
	t.Helper()
	r := NewKeyRing()
	for _, f := range files {
		if _, err := r.AddData(readTD(t, f), "", f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return r
}

func jsonOf(t testing.TB, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func expected(t testing.TB, file string) string {
	v, _ := DecodePlaintext(readTD(t, file))
	return jsonOf(t, v)
}

func TestDecryptVariants(t *testing.T) {
	th := thumbs(t)
	ring := ringWith(t, "keys/crp1.crt", "keys/crp1.prv")
	if k := ring.Lookup(strings.ToLower(th["crp1"])); k == nil || k.Source != "keys/crp1.prv" {
		t.Fatalf("lookup crp1: %+v", k)
	}
	cases := []struct {
		blob, plain, cipher, transport, recipient, enc string
	}{
		{"3des", "plain-rc1.json", "des-ede3-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
		{"aes128", "plain-rc1.json", "aes-128-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
		{"aes192", "plain-rc2.json", "aes-192-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
		{"aes256", "plain-rc2.json", "aes-256-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
		{"oaep", "plain-rc1.json", "aes-256-cbc", "rsaes-oaep", "IssuerAndSerialNumber", "utf-8"},
		{"oaep-sha256", "plain-rc2.json", "des-ede3-cbc", "rsaes-oaep", "IssuerAndSerialNumber", "utf-8"},
		{"ski", "plain-rc1.json", "des-ede3-cbc", "rsaes-pkcs1-v1_5", "SubjectKeyIdentifier", "utf-8"},
		{"utf16le", "plain-rc1.json", "des-ede3-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-16le"},
		{"text", "plain-text.txt", "aes-128-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
		{"two-recipients", "plain-rc2.json", "aes-256-cbc", "rsaes-pkcs1-v1_5", "IssuerAndSerialNumber", "utf-8"},
	}
	for _, c := range cases {
		for _, thumb := range []string{th["crp1"], ""} {
			res, err := ring.DecryptDetail(blob(t, c.blob), thumb)
			if err != nil {
				t.Errorf("%s (thumbprint %q): %v", c.blob, thumb, err)
				continue
			}
			if got, want := jsonOf(t, res.Plaintext), expected(t, c.plain); got != want {
				t.Errorf("%s: plaintext\n got %s\nwant %s", c.blob, got, want)
			}
			if res.Cipher != c.cipher || res.KeyTransport != c.transport || res.Recipient != c.recipient ||
				res.Encoding != c.enc || res.Thumbprint != th["crp1"] || res.KeySource != "keys/crp1.prv" {
				t.Errorf("%s: got %+v", c.blob, res)
			}
		}
	}
	// JSON objects come back as ordered dicts, other text as strings.
	p, err := ring.Decrypt(blob(t, "aes256"), th["crp1"])
	if _, ok := p.(*ordereddict.Dict); err != nil || !ok {
		t.Errorf("aes256: %T %v", p, err)
	}
	p, err = ring.Decrypt(blob(t, "text"), th["crp1"])
	if s, ok := p.(string); err != nil || !ok || s != "not json: just a string" {
		t.Errorf("text: %#v %v", p, err)
	}
}

// The real WALinuxAgent vector: 3DES, SubjectKeyIdentifier recipient,
// UTF-16LE plaintext, a key without certificate.
func TestRealVector(t *testing.T) {
	ring := ringWith(t, "real/sample.pem")
	res, err := ring.DecryptDetail(string(readTD(t, "real/encrypted.enc")), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Plaintext != "]aPPEv}uNg1FPnl?" || res.Cipher != "des-ede3-cbc" || res.Recipient != "SubjectKeyIdentifier" ||
		res.Encoding != "utf-16le" || res.Thumbprint != "" || res.KeySource != "real/sample.pem" {
		t.Fatalf("got %+v", res)
	}
	// A thumbprint nobody has: the bare key is still tried, and fits.
	if p, err := ring.Decrypt(string(readTD(t, "real/encrypted.enc")), "AA"); err != nil || p != "]aPPEv}uNg1FPnl?" {
		t.Fatalf("with unknown thumbprint: %v %v", p, err)
	}
}

// A real CRP blob (Windows CSE 2019) whose key is not public: it parses,
// and says which key it wants.
func TestRealCRPBlob(t *testing.T) {
	b := string(readTD(t, "real/crp-windows-cse-2019.b64"))
	der, err := decodeBase64(b)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(der)
	if err != nil {
		t.Fatal(err)
	}
	if env.Cipher() != "des-ede3-cbc" || len(env.Recipients) != 1 || env.Recipients[0].Kind != RecipientIssuerSerial ||
		len(env.Recipients[0].EncryptedKey) != 256 {
		t.Fatalf("envelope %+v", env)
	}
	ring := ringWith(t, "keys/crp1.crt", "keys/crp1.prv")
	res, err := ring.DecryptDetail(b, "C8F2B56B0E79B592334BA0AFFFE172EB3DEF6753")
	var nk *NoKeyError
	if !errors.As(err, &nk) || !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "no key for thumbprint C8F2B56B0E79B592334BA0AFFFE172EB3DEF6753") {
		t.Fatalf("got %v", err)
	}
	if res.Cipher != "des-ede3-cbc" {
		t.Fatalf("cipher %q", res.Cipher)
	}
}

func TestErrors(t *testing.T) {
	th := thumbs(t)
	ring1 := ringWith(t, "keys/crp1.crt", "keys/crp1.prv")
	ring2 := ringWith(t, "keys/crp2.crt", "keys/crp2.prv")

	// Thumbprint with no key.
	_, err := ring1.Decrypt(blob(t, "crp2"), th["crp2"])
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "no key for thumbprint "+th["crp2"]) {
		t.Errorf("no key: %v", err)
	}
	// No thumbprint, and no loaded key is a recipient.
	_, err = ring2.Decrypt(blob(t, "3des"), "")
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "1 key loaded, none is a recipient") {
		t.Errorf("no recipient: %v", err)
	}
	// Empty ring.
	_, err = NewKeyRing().Decrypt(blob(t, "3des"), th["crp1"])
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "no keys were loaded") {
		t.Errorf("empty ring: %v", err)
	}

	// Wrong key: the thumbprint names a key that is not the recipient's.
	_, err = ring2.Decrypt(blob(t, "3des"), th["crp2"])
	var wk *WrongKeyError
	if !errors.As(err, &wk) || !strings.Contains(err.Error(), "wrong key") || wk.Thumbprint != th["crp2"] {
		t.Errorf("wrong key (thumbprint of another key): %v", err)
	}
	// Wrong key: certificate and key that do not belong together (a
	// recipient match, then an RSA failure).
	k1, k2 := ring1.Keys()[0], ring2.Keys()[0]
	bad := &KeyRing{keys: []*Key{{Thumbprint: k1.Thumbprint, Cert: k1.Cert, Private: k2.Private, Source: "mismatched"}}}
	for _, b := range []string{"3des", "oaep", "ski"} {
		_, err = bad.Decrypt(blob(t, b), "")
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "decryption of the content key failed") {
			t.Errorf("wrong key %s: %v", b, err)
		}
	}

	// Unsupported ciphers: camellia, RC2 (when gen.sh's openssl had the legacy provider).
	_, err = ring1.Decrypt(blob(t, "camellia"), th["crp1"])
	var uc *UnsupportedCipherError
	if !errors.As(err, &uc) || uc.OID != "1.2.392.200011.61.1.1.1.2" || !strings.Contains(err.Error(), "unsupported cipher 1.2.392.200011.61.1.1.1.2") {
		t.Errorf("camellia: %v", err)
	}
	if _, serr := os.Stat("testdata/blobs/rc2.b64"); serr == nil {
		res, err := ring1.DecryptDetail(blob(t, "rc2"), th["crp1"])
		if !errors.Is(err, ErrUnsupportedCipher) || !strings.Contains(err.Error(), "unsupported cipher 1.2.840.113549.3.2") || res.Cipher != "rc2-cbc" {
			t.Errorf("rc2: %v", err)
		}
	}
	// An AES-128 blob whose cipher OID is hand-edited to AES-128-GCM.
	der, _ := decodeBase64(blob(t, "aes128"))
	cbc := []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02}
	i := bytes.Index(der, cbc)
	if i < 0 {
		t.Fatal("aes-128-cbc OID not found")
	}
	der[i+len(cbc)-1] = 0x06
	_, err = ring1.DecryptDER(der, "")
	if !errors.As(err, &uc) || uc.OID != "2.16.840.1.101.3.4.1.6" || uc.Name != "aes-128-gcm" {
		t.Errorf("edited OID: %v", err)
	}
	// Unsupported key transport: edit rsaEncryption to RSASSA-PSS.
	der, _ = decodeBase64(blob(t, "aes128"))
	rsaEnc := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}
	i = bytes.LastIndex(der, rsaEnc)
	der[i+len(rsaEnc)-1] = 0x0a
	_, err = ring1.DecryptDER(der, th["crp1"])
	if !errors.As(err, &uc) || uc.Role != "key transport" {
		t.Errorf("edited key transport: %v", err)
	}

	// Corrupt: truncated, garbage, not CMS, damaged ciphertext.
	full := blob(t, "aes256")
	for name, b := range map[string]string{
		"truncated":      full[:len(full)/2],
		"truncated tail": full[:len(full)-8],
		"not base64":     "this is not base64 !!!",
		"not DER":        "aGVsbG8gd29ybGQ=",
		"empty":          "",
		"signed data":    "MAsGCSqGSIb3DQEHAg==",
	} {
		_, err := ring1.Decrypt(b, th["crp1"])
		var ce *CorruptError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "corrupt blob: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Ciphertext one byte short of a block, and one block short.
	env, _ := ParseEnvelope(mustB64(t, full))
	env.Ciphertext = env.Ciphertext[:len(env.Ciphertext)-1]
	if _, _, _, err := ring1.open(env, th["crp1"]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short ciphertext: %v", err)
	}
	env, _ = ParseEnvelope(mustB64(t, full))
	env.Ciphertext = env.Ciphertext[:len(env.Ciphertext)-16]
	if _, _, _, err := ring1.open(env, th["crp1"]); err != nil && !errors.Is(err, ErrWrongKey) {
		t.Errorf("ciphertext a block short: %v", err)
	}
}

func mustB64(t testing.TB, s string) []byte {
	b, err := decodeBase64(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func abs(t testing.TB, p string) string {
	a, err := filepath.Abs(filepath.Join("testdata", p))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWaagentSources(t *testing.T) {
	th := thumbs(t)
	check := func(tree string, wantKeys map[string]string) *KeyRing {
		t.Helper()
		ring := NewKeyRing()
		if _, err := ring.LoadWaagent(evidence.NewRoot(evidence.OSAccessor{}, abs(t, tree)), ""); err != nil {
			t.Fatalf("%s: %v (%v)", tree, err, ring.Warnings())
		}
		for name, src := range wantKeys {
			k := ring.Lookup(th[name])
			if k == nil || k.Source != src {
				t.Errorf("%s: %s: key %+v, want source %s (warnings %v)", tree, name, k, src, ring.Warnings())
			}
		}
		return ring
	}
	ring := check("root-crtprv", map[string]string{
		"crp1": "/var/lib/waagent/" + th["crp1"] + ".prv",
		"crp2": "/var/lib/waagent/" + th["crp2"] + ".prv",
	})
	for _, b := range []string{"3des", "crp2", "crp2-ski"} {
		thumb := th["crp1"]
		if strings.HasPrefix(b, "crp2") {
			thumb = th["crp2"]
		}
		if _, err := ring.Decrypt(blob(t, b), thumb); err != nil {
			t.Errorf("root-crtprv %s: %v", b, err)
		}
	}

	ring = check("root-pem", map[string]string{"crp1": "/var/lib/waagent/Certificates.pem"})
	if _, err := ring.Decrypt(blob(t, "aes256"), th["crp1"]); err != nil {
		t.Errorf("root-pem: %v", err)
	}
	_, err := ring.Decrypt(blob(t, "crp2"), th["crp2"])
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "its certificate is in /var/lib/waagent/Certificates.pem but its private key was not found") {
		t.Errorf("root-pem crp2: %v", err)
	}

	for _, tree := range []string{"root-p7m", "root-p7m-mime"} {
		doc := "/var/lib/waagent/Certificates.xml"
		if tree == "root-p7m-mime" {
			doc = "/var/lib/waagent/Certificates.p7m"
		}
		ring = check(tree, map[string]string{"crp1": doc})
		if _, err := ring.Decrypt(blob(t, "oaep"), th["crp1"]); err != nil {
			t.Errorf("%s: %v", tree, err)
		}
	}

	// No /var/lib/waagent at all.
	ring = NewKeyRing()
	if _, err := ring.LoadWaagent(evidence.NewRoot(evidence.OSAccessor{}, abs(t, "keys")), ""); !evidence.IsNotExist(err) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestPKCS12(t *testing.T) {
	th := thumbs(t)
	pfx := readTD(t, "keys/crp1-password.pfx")
	ring := NewKeyRing()
	if _, err := ring.AddData(pfx, "Test-Passw0rd", "crp1-password.pfx"); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Decrypt(blob(t, "aes192"), th["crp1"]); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyRing().AddPKCS12(pfx, "nope", "x"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}

	// An empty-password PFX whose MAC does not verify is read anyway
	// (the agent's openssl pkcs12 -nomacver).
	data := readTD(t, "keys/Certificates.pfx")
	var pfxPDU struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  asn1.RawValue
	}
	if _, err := asn1.Unmarshal(data, &pfxPDU); err != nil {
		t.Fatal(err)
	}
	mac := append([]byte(nil), pfxPDU.MacData.FullBytes...)
	// MacData = SEQUENCE { DigestInfo SEQUENCE { alg, OCTET STRING digest }, salt, iter }:
	// flip a byte of the digest (the last byte of the DigestInfo).
	var di asn1.RawValue
	if _, err := asn1.Unmarshal(pfxPDU.MacData.Bytes, &di); err != nil {
		t.Fatal(err)
	}
	hdr := len(pfxPDU.MacData.FullBytes) - len(pfxPDU.MacData.Bytes)
	mac[hdr+len(di.FullBytes)-1] ^= 0xff
	badMac := bytes.Replace(data, pfxPDU.MacData.FullBytes, mac, 1)
	ring = NewKeyRing()
	if _, err := ring.AddPKCS12(badMac, "", "bad-mac.pfx"); err != nil {
		t.Fatal(err)
	}
	if ring.Lookup(th["crp1"]) == nil || len(ring.Warnings()) == 0 || !strings.Contains(ring.Warnings()[0], "-nomacver") {
		t.Errorf("nomacver: %v", ring.Warnings())
	}
	// Garbage is an error, not a panic.
	for _, g := range [][]byte{{0x30}, {0x30, 0x03, 0x02, 0x01, 0x03}, []byte("garbage")} {
		if _, err := NewKeyRing().AddData(g, "", "g"); err == nil {
			t.Errorf("garbage %x accepted", g)
		}
	}
}

func TestCertificatesDocumentForms(t *testing.T) {
	xml := readTD(t, "root-p7m/var/lib/waagent/Certificates.xml")
	der, err := certificatesDER(xml)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{
		"der":    der,
		"base64": []byte(strings.ReplaceAll(string(xml[bytes.Index(xml, []byte("<Data>"))+6:bytes.Index(xml, []byte("</Data>"))]), "\n", "\r\n")),
	} {
		got, err := certificatesDER(doc)
		if err != nil || !bytes.Equal(got, der) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := certificatesDER([]byte("<CertificateFile><Data>MIIB")); err == nil {
		t.Error("unclosed Data accepted")
	}
}

func TestThumbprintAndPairing(t *testing.T) {
	th := thumbs(t)
	if NormalizeThumbprint("\u200e4d:74 0d") != "4D740D"[:6] {
		t.Error(NormalizeThumbprint("\u200e4d:74 0d"))
	}
	// Key first, certificate later: they pair; duplicates are ignored.
	ring := ringWith(t, "keys/crp1.prv", "keys/crp2.crt", "keys/crp1.crt", "keys/crp1.prv", "keys/crp1.crt")
	keys := ring.Keys()
	if len(keys) != 1 || keys[0].Thumbprint != th["crp1"] || keys[0].Source != "keys/crp1.prv" {
		t.Fatalf("keys %+v", keys)
	}
	if ring.certSource(th["crp2"]) != "keys/crp2.crt" {
		t.Error("pending crp2")
	}
}

func TestDecodePlaintext(t *testing.T) {
	for in, want := range map[string]string{
		"\xff\xfe{\x00}\x00":    "{}",
		"\xef\xbb\xbf{\"a\":1}": `{"a":1}`,
		"h\x00\xe9\x00":         `"hé"`,
		"plain":                 `"plain"`,
		"{not json":             `"{not json"`,
		"\xff\xff\xff":          `"\ufffd"`,
	} {
		v, _ := DecodePlaintext([]byte(in))
		if got := jsonOf(t, v); got != want && !(in == "\xff\xff\xff" && got == "\"\uFFFD\"") {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
}

// A PKCS#12 file asking for 2^30 key-derivation iterations is refused
// up front instead of holding the query.
func TestPKCS12IterationCap(t *testing.T) {
	data := readTD(t, "keys/Certificates.pfx")
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			Salt       []byte
			Iterations int
		}
	}
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData.Iterations = 1 << 30
	hostile, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewKeyRing().AddPKCS12(hostile, "pw", "hostile.pfx")
	if err == nil || !strings.Contains(err.Error(), "iteration count 1073741824") {
		t.Fatalf("got %v", err)
	}
	// With the empty password the MAC is dropped (-nomacver) and the rest,
	// with sane counts, is read.
	ring := NewKeyRing()
	if _, err := ring.AddPKCS12(hostile, "", "hostile.pfx"); err != nil || len(ring.Keys()) != 1 ||
		!strings.Contains(strings.Join(ring.Warnings(), " "), "iteration count 1073741824") {
		t.Fatalf("got %v %v", err, ring.Warnings())
	}
}
