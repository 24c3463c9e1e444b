package protected

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/redact"
)

// FuzzDecryptDER feeds arbitrary bytes to the CMS parse and decrypt path
// (and to the Certificates-document and plaintext decoders): no panic, no
// hang, and every error is one of the four typed errors.
func FuzzDecryptDER(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "blobs", "*.b64"))
	files = append(files, filepath.Join("testdata", "real", "encrypted.enc"), filepath.Join("testdata", "real", "crp-windows-cse-2019.b64"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		der, err := decodeBase64(string(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "root-p7m", "var", "lib", "waagent", "Certificates.xml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte{})

	ring := ringWith(f, "keys/crp1.crt", "keys/crp1.prv", "real/sample.pem")
	transport := ringWith(f, "keys/TransportCert.pem", "keys/TransportPrivate.pem")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, thumb := range []string{"", ring.Keys()[0].Thumbprint} {
			res, err := ring.DecryptDER(data, thumb)
			if res == nil {
				t.Fatal("nil result")
			}
			if err != nil && !(errors.Is(err, ErrNoKey) || errors.Is(err, ErrUnsupportedCipher) ||
				errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongKey)) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
		if env, err := ParseEnvelope(data); err == nil {
			_ = env.Cipher()
			for i := range env.Recipients {
				_ = env.Recipients[i].Matches(nil, nil)
			}
		}
		_, _ = NewKeyRing().AddCertificatesDocument(data, transport, "fuzz")
		_, _ = NewKeyRing().AddData(data, "", "fuzz")
		v, _ := DecodePlaintext(data)
		if s, ok := v.(string); ok && !strings.Contains(s, "") {
			t.Fatal("unreachable")
		}
	})
}

// FuzzDecryptor feeds arbitrary protectedSettings strings and plaintexts
// to the plugin path (Decryptor.Decrypt: markers, base64, CMS, plaintext
// decoding, command extraction, redaction, InsertColumns): no panic, and
// the result is consistent (an error, or a plaintext, never both).
func FuzzDecryptor(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "blobs", "*.b64"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.TrimSpace(string(b)), []byte(`{"script":"ZWNobyBoaQ=="}`))
	}
	f.Add("***REDACTED***", []byte(`{"commandToExecute":"x","storageAccountKey":"k"}`))
	f.Add("", []byte("\xff\xfe{\x00}\x00"))
	f.Add("MIIB", []byte(`{"script":["a","b"],"source":{"script":"c"}}`))

	root, err := filepath.Abs(filepath.Join("testdata", "root-crtprv"))
	if err != nil {
		f.Fatal(err)
	}
	dec := NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, root), Options{Decrypt: On, Redact: true})
	if !dec.Enabled() {
		f.Fatal("no keys")
	}
	thumb := dec.KeyRing().Keys()[0].Thumbprint
	f.Fuzz(func(t *testing.T, blob string, plain []byte) {
		for _, th := range []string{"", thumb} {
			d := dec.Decrypt(blob, th)
			if d.Attempted && (d.Err == nil) == (d.Error != "") {
				t.Fatalf("inconsistent: %+v", d)
			}
			if d.Err != nil && d.Plaintext != nil {
				t.Fatalf("plaintext with error: %+v", d)
			}
			row := d.InsertColumns(ordereddict.NewDict().Set("ProtectedSettings", blob), "ProtectedSettings")
			if row.Len() != 3 {
				t.Fatal(row.Keys())
			}
		}
		v, _ := DecodePlaintext(plain)
		CommandFromPlaintext(v)
		CommandFromPlaintext(redact.Value(v))
	})
}
