package protected

import (
	"errors"
	"fmt"
)

// Sentinel errors: every error Decrypt returns matches exactly one of
// them with errors.Is, and is one of the typed errors below, whose
// message says why.
var (
	ErrNoKey             = errors.New("no key")
	ErrUnsupportedCipher = errors.New("unsupported cipher")
	ErrCorrupt           = errors.New("corrupt blob")
	ErrWrongKey          = errors.New("wrong key")
)

// NoKeyError: the key ring holds no private key for the thumbprint (or,
// with no thumbprint, no key at all, or none that matches a recipient).
type NoKeyError struct {
	Thumbprint string // as asked for, normalised; "" when none was given
	Detail     string // what the ring does know, if anything
}

func (e *NoKeyError) Error() string {
	msg := "no key"
	if e.Thumbprint != "" {
		msg = "no key for thumbprint " + e.Thumbprint
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrNoKey) true.
func (e *NoKeyError) Is(target error) bool { return target == ErrNoKey }

// UnsupportedCipherError: the blob uses a content cipher or key transport
// this package does not implement. OID is the dotted algorithm identifier.
type UnsupportedCipherError struct {
	OID  string
	Name string // a readable name when the OID is a known one
	Role string // "content cipher" or "key transport"
}

func (e *UnsupportedCipherError) Error() string {
	role := e.Role
	if role == "" {
		role = "content cipher"
	}
	msg := fmt.Sprintf("unsupported cipher %s (%s", e.OID, role)
	if e.Name != "" {
		msg += ": " + e.Name
	}
	return msg + ")"
}

// Is makes errors.Is(err, ErrUnsupportedCipher) true.
func (e *UnsupportedCipherError) Is(target error) bool { return target == ErrUnsupportedCipher }

// CorruptError: the blob is not base64, not DER, not CMS EnvelopedData, or
// a field of it is malformed or truncated.
type CorruptError struct {
	Reason string
}

func (e *CorruptError) Error() string { return "corrupt blob: " + e.Reason }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(format string, args ...interface{}) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

// WrongKeyError: a key was tried and failed: the RSA decryption of the
// content-encryption key failed, the content key does not fit the cipher,
// or the decrypted content's padding is invalid.
type WrongKeyError struct {
	Thumbprint string // the key's thumbprint ("" for a key without certificate)
	KeySource  string
	Reason     string
}

func (e *WrongKeyError) Error() string {
	who := "key"
	if e.Thumbprint != "" {
		who = "key " + e.Thumbprint
	}
	if e.KeySource != "" {
		who += " from " + e.KeySource
	}
	return fmt.Sprintf("wrong key: %s: %s", who, e.Reason)
}

// Is makes errors.Is(err, ErrWrongKey) true.
func (e *WrongKeyError) Is(target error) bool { return target == ErrWrongKey }
