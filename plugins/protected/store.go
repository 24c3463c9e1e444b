package protected

// The live system's certificate store as a key source. On Windows the
// tenant certificate is in LocalMachine\My with a machine key that is
// usually not exportable, so the blob is handed to the store to decrypt
// (store_windows.go: CryptDecryptMessage). Elsewhere there is no store.
// It is used only when the evidence is the running system (root "" and
// the host's file accessor), after the key ring found no key.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
)

// systemStore decrypts DER CMS with the running system's certificate
// store: the plaintext and the thumbprint of the certificate used.
type systemStore interface {
	Name() string // e.g. `cert:LocalMachine\My`
	Decrypt(der []byte) (plain []byte, thumbprint string, err error)
}

// openSystemStore returns the running system's store, or nil (non-Windows,
// or the store cannot be opened). Set by store_windows.go; tests replace it.
var openSystemStore = func() (systemStore, error) { return nil, errors.New("no system certificate store on this platform") }

// liveSystem says whether a root and accessor name the running system.
func liveSystem(root, accessor string) bool {
	switch accessor {
	case "", evidence.DefaultAccessor, "file":
		return root == ""
	}
	return false
}

// decryptWithStore is ring.DecryptDetail falling back, when the ring has
// no key for the blob and useStore is set, on the system store.
func decryptWithStore(ring *KeyRing, store systemStore, blob, thumbprint string) (*Result, error) {
	res, err := ring.DecryptDetail(blob, thumbprint)
	if err == nil || store == nil || !errors.Is(err, ErrNoKey) {
		return res, err
	}
	der, derr := decodeBase64(blob)
	if derr != nil {
		return res, err
	}
	env, perr := ParseEnvelope(der)
	if perr != nil {
		return res, err
	}
	plain, thumb, serr := store.Decrypt(der)
	if serr != nil {
		var nk *NoKeyError
		if errors.As(err, &nk) {
			return res, &NoKeyError{Thumbprint: nk.Thumbprint, Detail: strings.TrimSpace(nk.Detail + "; " + store.Name() + ": " + serr.Error())}
		}
		return res, fmt.Errorf("%w; %s: %v", err, store.Name(), serr)
	}
	out := &Result{Raw: plain, Thumbprint: thumb, KeySource: store.Name() + `\` + thumb, Cipher: env.Cipher(), KeyTransport: "system store"}
	out.Plaintext, out.Encoding = DecodePlaintext(plain)
	return out, nil
}
