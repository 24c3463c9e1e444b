package protected

import (
	"errors"
	"strings"
	"testing"

	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
)

// fakeStore stands in for Windows' LocalMachine\My: it decrypts with a
// key ring of its own, as CryptDecryptMessage would with the store's keys.
type fakeStore struct{ ring *KeyRing }

func (fakeStore) Name() string { return `cert:LocalMachine\My` }

func (f fakeStore) Decrypt(der []byte) ([]byte, string, error) {
	res, err := f.ring.DecryptDER(der, "")
	if err != nil {
		return nil, "", errors.New("CryptDecryptMessage: Cannot find the certificate and private key for decryption.")
	}
	return res.Raw, res.Thumbprint, nil
}

func withStore(t *testing.T, s systemStore) {
	old := openSystemStore
	openSystemStore = func() (systemStore, error) { return s, nil }
	t.Cleanup(func() { openSystemStore = old })
}

func TestSystemStoreFallback(t *testing.T) {
	th := thumbs(t)
	withStore(t, fakeStore{ring: ringWith(t, "keys/crp1.crt", "keys/crp1.prv")})

	// The running system (root "", host accessor): the store is used when
	// the ring has no key, and makes decrypt=auto decrypt.
	d := NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, ""), Options{Redact: true})
	if !d.Enabled() {
		t.Fatal("auto with a system store: not enabled")
	}
	r := d.Decrypt(blob(t, "3des"), th["crp1"])
	if r.Err != nil || r.KeySource != `cert:LocalMachine\My\`+th["crp1"] || r.Thumbprint != th["crp1"] || r.Cipher != "des-ede3-cbc" ||
		r.CommandField != "commandToExecute" {
		t.Fatalf("%+v", r)
	}
	// A blob for a certificate the store lacks: the ring's error and the store's.
	r = d.Decrypt(blob(t, "crp2"), th["crp2"])
	if !errors.Is(r.Err, ErrNoKey) || !strings.Contains(r.Error, `cert:LocalMachine\My: CryptDecryptMessage: Cannot find`) {
		t.Fatalf("%+v", r)
	}
	// Corrupt blobs never reach the store.
	if r = d.Decrypt("AAAA", ""); !errors.Is(r.Err, ErrCorrupt) || strings.Contains(r.Error, "LocalMachine") {
		t.Fatalf("%+v", r)
	}

	// An evidence root (a mounted image): never the host's store.
	d = NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, abs(t, "keys")), Options{})
	if d.Enabled() {
		t.Fatal("the host's store used for an evidence root")
	}
	for _, c := range []struct {
		root, acc string
		live      bool
	}{{"", "", true}, {"", "auto", true}, {"", "file", true}, {"/mnt/x", "", false}, {"", "ntfs", false}} {
		if liveSystem(c.root, c.acc) != c.live {
			t.Errorf("liveSystem(%q, %q)", c.root, c.acc)
		}
	}
}
