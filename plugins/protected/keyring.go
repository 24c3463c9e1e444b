// Package protected decrypts the protectedSettings of Azure VM extensions
// offline: CMS EnvelopedData blobs (base64 DER) encrypted by CRP to a
// tenant certificate, with the private keys found on the evidence
// (/var/lib/waagent/<THUMB>.prv, Certificates.pem, or recovered from the
// encrypted Certificates document with the agent's transport key) or
// supplied by the analyst (PEM or PKCS#12 files).
//
// The Go API (KeyRing, Decrypt) is what the settings and executions
// plugins call; azure_decrypt is the VQL face of it.
package protected

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Key is one private key of the ring, with the certificate that names it
// when one is known.
type Key struct {
	Thumbprint string            // SHA-1 of the certificate DER, upper-case hex; "" without certificate
	Cert       *x509.Certificate // nil for a bare private key
	Private    *rsa.PrivateKey
	Source     string // where the private key came from (an evidence or accessor path)
}

func (k *Key) label() string {
	if k.Thumbprint != "" {
		return k.Thumbprint
	}
	return "(key without certificate, id " + strings.ToUpper(hex.EncodeToString(keyID(&k.Private.PublicKey))) + ")"
}

type certEntry struct {
	cert   *x509.Certificate
	thumb  string
	source string
}

// KeyRing holds private keys and certificates from any number of sources.
// Keys are tried in the order they were added; a key found twice is kept
// once, with its first source. A KeyRing is safe for concurrent use once
// loaded.
type KeyRing struct {
	mu       sync.RWMutex
	keys     []*Key      // every entry has a private key
	pending  []certEntry // certificates whose private key is not known
	warnings []string
}

// NewKeyRing returns an empty key ring.
func NewKeyRing() *KeyRing { return &KeyRing{} }

// Thumbprint is the SHA-1 of the certificate's DER, upper-case hex: the
// protectedSettingsCertThumbprint and the <THUMB> of /var/lib/waagent.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// NormalizeThumbprint keeps the hex digits of s, upper-cased (thumbprints
// are pasted with spaces, colons and invisible marks).
func NormalizeThumbprint(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'F':
			b.WriteRune(r)
		case r >= 'a' && r <= 'f':
			b.WriteRune(r - 'a' + 'A')
		}
	}
	return b.String()
}

// Keys lists the private keys, in lookup order.
func (k *KeyRing) Keys() []*Key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]*Key(nil), k.keys...)
}

// Warnings lists what could not be loaded and why.
func (k *KeyRing) Warnings() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]string(nil), k.warnings...)
}

func (k *KeyRing) warnf(format string, args ...interface{}) {
	k.mu.Lock()
	k.warnings = append(k.warnings, fmt.Sprintf(format, args...))
	k.mu.Unlock()
}

// Lookup returns the private key for a thumbprint, or nil.
func (k *KeyRing) Lookup(thumbprint string) *Key {
	t := NormalizeThumbprint(thumbprint)
	if t == "" {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.Thumbprint == t {
			return key
		}
	}
	return nil
}

// certSource says where a certificate without key was seen ("" if never).
func (k *KeyRing) certSource(thumb string) string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, c := range k.pending {
		if c.thumb == thumb {
			return c.source
		}
	}
	return ""
}

// AddCertificate adds a certificate; it pairs with a private key already
// in the ring, or waits for one. It reports whether it was new.
func (k *KeyRing) AddCertificate(cert *x509.Certificate, source string) bool {
	thumb := Thumbprint(cert)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keys {
		if key.Thumbprint == thumb {
			return false
		}
	}
	for _, c := range k.pending {
		if c.thumb == thumb {
			return false
		}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if ok {
		for _, key := range k.keys {
			if !key.Private.PublicKey.Equal(pub) {
				continue
			}
			if key.Cert == nil {
				key.Cert, key.Thumbprint = cert, thumb
				return true
			}
			// Another certificate for the same key (a re-issued cert).
			k.keys = append(k.keys, &Key{Thumbprint: thumb, Cert: cert, Private: key.Private, Source: key.Source})
			return true
		}
	}
	k.pending = append(k.pending, certEntry{cert: cert, thumb: thumb, source: source})
	return true
}

// AddPrivateKey adds an RSA private key; it pairs with the certificates
// of the ring that carry its public key. It reports whether it was new.
func (k *KeyRing) AddPrivateKey(priv *rsa.PrivateKey, source string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keys {
		if key.Private.Equal(priv) {
			return false
		}
	}
	paired := false
	rest := k.pending[:0]
	for _, c := range k.pending {
		if pub, ok := c.cert.PublicKey.(*rsa.PublicKey); ok && priv.PublicKey.Equal(pub) {
			k.keys = append(k.keys, &Key{Thumbprint: c.thumb, Cert: c.cert, Private: priv, Source: source})
			paired = true
			continue
		}
		rest = append(rest, c)
	}
	k.pending = rest
	if !paired {
		k.keys = append(k.keys, &Key{Private: priv, Source: source})
	}
	return true
}

// AddData loads key material in any of the forms the evidence and
// analysts have: PEM (certificates, PKCS#1 or PKCS#8 private keys, the
// agent's Certificates.pem with its Bag Attributes), DER certificates or
// keys, and PKCS#12 (password may be ""). It returns how many new keys and
// certificates it added.
func (k *KeyRing) AddData(data []byte, password, source string) (int, error) {
	return k.addData(data, password, source, true)
}

func (k *KeyRing) addData(data []byte, password, source string, allowPFX bool) (int, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return k.AddPEM(data, source)
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		if k.AddCertificate(c, source) {
			return 1, nil
		}
		return 0, nil
	}
	if priv, err := parsePrivateKey("", data); err == nil {
		if k.AddPrivateKey(priv, source) {
			return 1, nil
		}
		return 0, nil
	}
	if !allowPFX {
		return 0, fmt.Errorf("%s: neither PEM nor a DER certificate or key", source)
	}
	n, err := k.AddPKCS12(data, password, source)
	if err != nil {
		return n, fmt.Errorf("%s: neither PEM, nor a DER certificate or key, nor PKCS#12: %w", source, err)
	}
	return n, nil
}

// AddPEM loads every certificate and private key of a PEM file.
func (k *KeyRing) AddPEM(data []byte, source string) (int, error) {
	n, blocks := 0, 0
	var firstErr error
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		added, err := k.addBlock(block, source)
		if err != nil {
			k.warnf("%s: %v", source, err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if added {
			n++
		}
	}
	if blocks == 0 {
		return 0, fmt.Errorf("%s: no PEM blocks", source)
	}
	if n == 0 && firstErr != nil {
		return 0, fmt.Errorf("%s: %w", source, firstErr)
	}
	return n, nil
}

func (k *KeyRing) addBlock(block *pem.Block, source string) (bool, error) {
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return false, fmt.Errorf("certificate: %v", err)
		}
		return k.AddCertificate(c, source), nil
	case "RSA PRIVATE KEY", "PRIVATE KEY":
		if _, enc := block.Headers["Proc-Type"]; enc {
			return false, errors.New("legacy encrypted PEM private key is not supported (decrypt it first: openssl pkey -in KEY -out PLAIN)")
		}
		priv, err := parsePrivateKey(block.Type, block.Bytes)
		if err != nil {
			return false, err
		}
		return k.AddPrivateKey(priv, source), nil
	case "ENCRYPTED PRIVATE KEY":
		return false, errors.New("encrypted PKCS#8 private key is not supported (decrypt it first: openssl pkey -in KEY -out PLAIN, or give a PKCS#12 file and password=)")
	}
	return false, nil // public keys, CSRs, ... : not key material we use
}

// parsePrivateKey reads PKCS#1 or PKCS#8 DER (either label: go-pkcs12
// labels PKCS#1 bytes "PRIVATE KEY").
func parsePrivateKey(label string, der []byte) (*rsa.PrivateKey, error) {
	if label != "PRIVATE KEY" {
		if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			return k, nil
		}
	}
	k8, err8 := x509.ParsePKCS8PrivateKey(der)
	if err8 == nil {
		if rk, ok := k8.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("private key is %T: CMS key transport needs RSA", k8)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("private key: %v", err8)
}

// AddPKCS12 loads the certificates and keys of a PKCS#12 (PFX) file. With
// the empty password, a PFX whose MAC does not verify is read without it,
// as the agent does (openssl pkcs12 -nomacver).
func (k *KeyRing) AddPKCS12(data []byte, password, source string) (n int, err error) {
	blocks, err := pfxToPEM(data, password)
	if err != nil && password == "" && !errors.Is(err, errNotPFX) {
		if stripped, serr := stripPFXMac(data); serr == nil {
			if b2, err2 := pfxToPEM(stripped, ""); err2 == nil {
				k.warnf("%s: PKCS#12 MAC does not verify (%v); read without it (-nomacver)", source, err)
				blocks, err = b2, nil
			}
		}
	}
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return 0, fmt.Errorf("PKCS#12: wrong password (%v)", err)
		}
		return 0, fmt.Errorf("PKCS#12: %v", err)
	}
	for _, b := range blocks {
		added, err := k.addBlock(b, source)
		if err != nil {
			k.warnf("%s: %v", source, err)
			continue
		}
		if added {
			n++
		}
	}
	return n, nil
}

var errNotPFX = errors.New("not a PKCS#12 PFX")

// pfxToPEM is go-pkcs12's ToPEM, fenced: a library fault on hostile input
// becomes an error, not a crash of the query.
func pfxToPEM(data []byte, password string) (blocks []*pem.Block, err error) {
	if len(data) == 0 || data[0] != 0x30 {
		return nil, errNotPFX
	}
	if err := checkIterations(data, 0); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			blocks, err = nil, fmt.Errorf("malformed PKCS#12: %v", r)
		}
	}()
	return pkcs12.ToPEM(data, password)
}

// maxIterations caps the key-derivation work a PKCS#12 file may ask for
// (OpenSSL writes 2048, Windows 2000 to 600000): a hostile file with 2^31
// iterations would otherwise hold the query for an hour.
const maxIterations = 1 << 20

// checkIterations walks the DER that is readable before decryption (the
// PFX, its MacData, the authenticated safe and unencrypted SafeContents,
// which sit inside OCTET STRINGs) and rejects any iteration count above
// maxIterations: in MacData and in PBE/PBKDF2 parameters an INTEGER
// directly follows the salt OCTET STRING. Bags inside an encrypted
// SafeContents are out of its sight.
func checkIterations(der []byte, depth int) error {
	if depth > 16 {
		return nil
	}
	for len(der) > 0 {
		var rv asn1.RawValue
		rest, err := asn1.Unmarshal(der, &rv)
		if err != nil {
			return nil // not (all) DER: the library reports it
		}
		der = rest
		switch {
		case rv.IsCompound:
			if rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagSequence {
				if err := checkSaltThenCount(rv.Bytes); err != nil {
					return err
				}
			}
			if err := checkIterations(rv.Bytes, depth+1); err != nil {
				return err
			}
		case rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagOctetString && len(rv.Bytes) > 0 && rv.Bytes[0] == 0x30:
			if err := checkIterations(rv.Bytes, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkSaltThenCount(b []byte) error {
	prevSalt := false
	for len(b) > 0 {
		var rv asn1.RawValue
		rest, err := asn1.Unmarshal(b, &rv)
		if err != nil {
			return nil
		}
		b = rest
		if prevSalt && rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagInteger {
			n := new(big.Int).SetBytes(rv.Bytes)
			if len(rv.Bytes) > 0 && rv.Bytes[0]&0x80 == 0 && n.Cmp(big.NewInt(maxIterations)) > 0 {
				return fmt.Errorf("PKCS#12: iteration count %s is above the %d this reader accepts", n, maxIterations)
			}
		}
		prevSalt = rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagOctetString && !rv.IsCompound
	}
	return nil
}

// decodeBase64 accepts standard base64 with or without padding, with line
// breaks and blanks anywhere (as XML and MIME wrap it).
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	clean = strings.Trim(clean, `"`)
	if b, err := base64.StdEncoding.DecodeString(clean); err == nil {
		return b, nil
	}
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "=")); err == nil {
		return b, nil
	}
	b, err := base64.URLEncoding.DecodeString(clean)
	if err == nil {
		return b, nil
	}
	_, err = base64.StdEncoding.DecodeString(clean)
	return nil, err
}
