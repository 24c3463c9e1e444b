package protected

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"

	"github.com/azvql/azvql/plugins/evidence"
)

// Result is a decrypted blob and how it was decrypted.
type Result struct {
	// Plaintext is a *ordereddict.Dict when the plaintext is a JSON
	// object (protected settings always are), else the text as a string.
	Plaintext interface{}
	Raw       []byte // the decrypted bytes, before text decoding
	Encoding  string // utf-8, utf-8-bom, utf-16le, utf-16be

	Thumbprint   string // of the key that decrypted it ("" for a key without certificate)
	KeySource    string // where that key came from
	Cipher       string // content cipher: des-ede3-cbc, aes-256-cbc, ... (or its OID)
	KeyTransport string // rsaes-pkcs1-v1_5 or rsaes-oaep
	Recipient    string // IssuerAndSerialNumber or SubjectKeyIdentifier
}

// maxAttempts bounds the RSA decryptions one blob may cost (keys x
// recipients), whatever a hostile blob lists.
const maxAttempts = 64

// Decrypt decrypts a base64 protectedSettings blob with the key for
// thumbprint (every key when thumbprint is "", or when no key has that
// thumbprint but a key without certificate might fit). It returns the
// plaintext: a *ordereddict.Dict for JSON, else a string. Errors are
// NoKeyError, UnsupportedCipherError, CorruptError or WrongKeyError.
func (k *KeyRing) Decrypt(blobBase64, thumbprint string) (interface{}, error) {
	res, err := k.DecryptDetail(blobBase64, thumbprint)
	if err != nil {
		return nil, err
	}
	return res.Plaintext, nil
}

// DecryptDetail is Decrypt returning how the blob was decrypted. On error
// the Result still says what is known (the cipher, when the blob parsed).
func (k *KeyRing) DecryptDetail(blobBase64, thumbprint string) (*Result, error) {
	if IsRedactionMarker(blobBase64) {
		return &Result{Thumbprint: NormalizeThumbprint(thumbprint)}, corrupt("%q is the guest agent's redaction marker, not ciphertext (agents 2.8+ redact the copies they keep)", strings.TrimSpace(blobBase64))
	}
	der, err := decodeBase64(blobBase64)
	if err != nil {
		return &Result{Thumbprint: NormalizeThumbprint(thumbprint)}, corrupt("not base64: %v", err)
	}
	return k.DecryptDER(der, thumbprint)
}

// DecryptDER decrypts a DER CMS EnvelopedData.
func (k *KeyRing) DecryptDER(der []byte, thumbprint string) (*Result, error) {
	thumb := NormalizeThumbprint(thumbprint)
	res := &Result{Thumbprint: thumb}
	env, err := ParseEnvelope(der)
	if err != nil {
		return res, err
	}
	res.Cipher = env.Cipher()
	plain, key, r, err := k.open(env, thumb)
	if err != nil {
		return res, err
	}
	res.Raw = plain
	res.Plaintext, res.Encoding = DecodePlaintext(plain)
	res.Thumbprint, res.KeySource = key.Thumbprint, key.Source
	res.Recipient = r.Kind.String()
	res.KeyTransport = "rsaes-pkcs1-v1_5"
	if r.KeyAlg.Equal(oidRSAESOAEP) {
		res.KeyTransport = "rsaes-oaep"
	}
	return res, nil
}

// open finds the key and recipient that decrypt env.
// It is long because the key search order (the thumbprint's key, keys the
// recipients name, the other keys) and the error reported are one
// decision: which failure is the telling one depends on every attempt.
func (k *KeyRing) open(env *Envelope, thumb string) ([]byte, *Key, *Recipient, error) {
	c, err := env.checkCipher()
	if err != nil {
		return nil, nil, nil, err
	}
	// Shape checks that do not depend on the key: a truncated or damaged
	// content is reported as such, not as a wrong key.
	if _, err := env.iv(blockSize(c)); err != nil {
		return nil, nil, nil, err
	}
	if n := len(env.Ciphertext); n == 0 || n%blockSize(c) != 0 {
		return nil, nil, nil, corrupt("%s ciphertext is %d bytes, not a whole number of %d-byte blocks (truncated?)", c.name, n, blockSize(c))
	}
	keys := k.Keys()
	if len(keys) == 0 {
		return nil, nil, nil, &NoKeyError{Thumbprint: thumb, Detail: "no keys were loaded"}
	}
	matches := func(key *Key) bool {
		for i := range env.Recipients {
			if env.Recipients[i].Matches(key.Cert, &key.Private.PublicKey) {
				return true
			}
		}
		return false
	}

	var cands []*Key
	strict := false
	if thumb != "" {
		if key := k.Lookup(thumb); key != nil {
			cands, strict = []*Key{key}, true
		} else {
			// No key by that thumbprint: a key the blob names as a
			// recipient, or a bare key (no certificate, so no
			// thumbprint to look up), may still fit.
			for _, key := range keys {
				if key.Cert == nil || matches(key) {
					cands = append(cands, key)
				}
			}
			if len(cands) == 0 {
				detail := fmt.Sprintf("%s loaded, none has this thumbprint or is a recipient of the blob", nKeys(len(keys)))
				if src := k.certSource(thumb); src != "" {
					detail = "its certificate is in " + src + " but its private key was not found"
				}
				return nil, nil, nil, &NoKeyError{Thumbprint: thumb, Detail: detail}
			}
		}
	} else {
		for _, key := range keys {
			if matches(key) {
				cands = append(cands, key)
			}
		}
		for _, key := range keys {
			if !matches(key) {
				cands = append(cands, key)
			}
		}
	}

	attempts := 0
	var firstErr, unsupported error
	anyMatch := false
	for _, key := range cands {
		// Recipients naming this key first, then (for a bare key, or the
		// key the thumbprint names) the others: a re-issued certificate
		// keeps its key but not its serial.
		order := make([]*Recipient, 0, len(env.Recipients))
		for i := range env.Recipients {
			if env.Recipients[i].Matches(key.Cert, &key.Private.PublicKey) {
				order = append(order, &env.Recipients[i])
				anyMatch = true
			}
		}
		nMatched := len(order)
		for i := range env.Recipients {
			r := &env.Recipients[i]
			if r.Kind != RecipientOther && !r.Matches(key.Cert, &key.Private.PublicKey) {
				order = append(order, r)
			}
		}
		for j, r := range order {
			if r.Kind == RecipientOther {
				continue
			}
			if attempts >= maxAttempts {
				break
			}
			attempts++
			cek, err := r.unwrapKey(key.Private)
			if err == nil {
				var plain []byte
				plain, err = env.decryptContent(c, cek)
				if err == nil {
					return plain, key, r, nil
				}
			}
			var uc *UnsupportedCipherError
			if errors.As(err, &uc) {
				if unsupported == nil {
					unsupported = err
				}
				continue
			}
			var wk *WrongKeyError
			if errors.As(err, &wk) {
				wk.Thumbprint, wk.KeySource = key.Thumbprint, key.Source
			}
			// A failure with a recipient that names the key is the
			// telling one; failures with other recipients are expected.
			if firstErr == nil && (j < nMatched || strict) {
				firstErr = err
			}
		}
	}
	switch {
	case unsupported != nil && !anyMatch && firstErr == nil:
		return nil, nil, nil, unsupported
	case firstErr != nil && (strict || anyMatch):
		return nil, nil, nil, firstErr
	case unsupported != nil:
		return nil, nil, nil, unsupported
	}
	if thumb != "" {
		return nil, nil, nil, &NoKeyError{Thumbprint: thumb, Detail: fmt.Sprintf("tried %s with no certificate of this thumbprint, none decrypts the blob", nKeys(len(cands)))}
	}
	return nil, nil, nil, &NoKeyError{Detail: fmt.Sprintf("%s loaded, none is a recipient of the blob or decrypts it (%s)", nKeys(len(keys)), describeRecipients(env))}
}

func nKeys(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

func blockSize(c contentCipher) int {
	if c.name == "des-ede3-cbc" {
		return 8
	}
	return 16
}

func describeRecipients(env *Envelope) string {
	var b bytes.Buffer
	for i, r := range env.Recipients {
		if i > 0 {
			b.WriteString(", ")
		}
		switch r.Kind {
		case RecipientSKI:
			fmt.Fprintf(&b, "recipient key id %X", r.SKI)
		case RecipientIssuerSerial:
			fmt.Fprintf(&b, "recipient serial %X", r.Serial)
		default:
			b.WriteString("non key-transport recipient")
		}
	}
	return b.String()
}

// DecodePlaintext turns decrypted bytes into text (UTF-8, UTF-8 with BOM,
// UTF-16LE/BE with or without BOM) and parses a JSON object into a
// *ordereddict.Dict (key order kept). Anything else is returned as a
// string.
func DecodePlaintext(b []byte) (interface{}, string) {
	text, enc := evidence.DecodeText(b)
	if enc == evidence.EncUTF8 && looksUTF16LE(b) {
		text, enc = utf16le(b), evidence.EncUTF16LE
	}
	text = bytes.TrimRight(text, "\x00")
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		d := ordereddict.NewDict()
		if err := d.UnmarshalJSON(trimmed); err == nil {
			return d, enc
		}
	}
	if !utf8.Valid(text) {
		return string(bytes.ToValidUTF8(text, []byte("\uFFFD"))), enc
	}
	return string(text), enc
}

// looksUTF16LE: BOM-less UTF-16LE whose text is not all ASCII (the
// evidence heuristic wants NULs in every odd byte): an even length, not
// valid UTF-8 or holding NULs, with most odd bytes NUL.
func looksUTF16LE(b []byte) bool {
	if len(b) < 2 || len(b)%2 != 0 || (utf8.Valid(b) && bytes.IndexByte(b, 0) < 0) {
		return false
	}
	zeros := 0
	for i := 1; i < len(b); i += 2 {
		if b[i] == 0 {
			zeros++
		}
	}
	return zeros*2 >= len(b)/2
}

func utf16le(b []byte) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	return []byte(string(utf16.Decode(u)))
}
