// Package redact removes secrets from values azvql plugins emit: settings
// values under secret key names (Value), and in free text every form of
// the catalogue (catalogue.go: SAS signatures, passwords and tokens in
// assignments, URLs, headers, connection strings, PEM keys and on the
// command lines of database clients, sshpass, curl, net user, PowerShell,
// ...). MayHoldSecret is the cheap test, derived from the catalogue, that
// lets hot loops skip text that holds none. Every plugin applies it by
// default; callers pass redact=false to see the secrets.
//
// Redaction keeps the shape of the evidence: a SAS URL keeps its host,
// path and every query parameter but sig; a protectedParameters list keeps
// its parameter names; only the secret value becomes Marker.
package redact

import (
	"strings"

	"github.com/Velocidex/ordereddict"
)

// Marker replaces every secret value.
const Marker = "[REDACTED]"

// maxDepth bounds recursion into nested values (hostile JSON).
const maxDepth = 64

// secretKeys are key names (lower case) whose whole value is a secret.
var secretKeys = map[string]bool{
	"storageaccountkey":   true,
	"accountkey":          true,
	"runaspassword":       true,
	"password":            true,
	"adminpassword":       true,
	"protectedparameters": true, // handled specially: names kept, values redacted
}

// IsSecretKey reports whether a settings key holds a secret by name
// (case-insensitive).
func IsSecretKey(k string) bool {
	return secretKeys[strings.ToLower(k)] || secretNameRe.MatchString(k) && !sasName(k)
}

// Value returns v with secrets redacted. It walks *ordereddict.Dict,
// map[string]any, []any and []string; strings are passed through String.
// v itself is not modified: containers are copied.
func Value(v any) any { return value(v, 0) }

func value(v any, depth int) any {
	if depth > maxDepth {
		return v
	}
	switch t := v.(type) {
	case string:
		return String(t)
	case []string:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = String(s)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = value(e, depth+1)
		}
		return out
	case *ordereddict.Dict:
		if t == nil {
			return t
		}
		out := ordereddict.NewDict()
		for _, k := range t.Keys() {
			e, _ := t.Get(k)
			out.Set(k, keyed(k, e, depth))
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = keyed(k, e, depth)
		}
		return out
	}
	return v
}

// keyed redacts the value stored under key k.
func keyed(k string, e any, depth int) any {
	lk := strings.ToLower(k)
	if lk == "protectedparameters" {
		return protectedParams(e, depth)
	}
	if secretKeys[lk] || secretNameRe.MatchString(k) && !sasName(k) {
		if e == nil {
			return nil
		}
		if s, ok := e.(string); ok && s == "" {
			return s // an empty secret says "none was set": keep it
		}
		return Marker
	}
	return value(e, depth+1)
}

// protectedParams keeps each parameter's name and redacts its value.
func protectedParams(e any, depth int) any {
	list, ok := e.([]any)
	if !ok {
		if e == nil {
			return nil
		}
		return Marker
	}
	out := make([]any, len(list))
	for i, p := range list {
		switch t := p.(type) {
		case *ordereddict.Dict:
			d := ordereddict.NewDict()
			for _, k := range t.Keys() {
				x, _ := t.Get(k)
				if strings.EqualFold(k, "value") {
					x = Marker
				} else {
					x = value(x, depth+2)
				}
				d.Set(k, x)
			}
			out[i] = d
		case map[string]any:
			d := make(map[string]any, len(t))
			for k, x := range t {
				if strings.EqualFold(k, "value") {
					d[k] = Marker
				} else {
					d[k] = value(x, depth+2)
				}
			}
			out[i] = d
		default:
			out[i] = Marker
		}
	}
	return out
}

// String redacts every form of secret in the catalogue (catalogue.go;
// the README lists them): SAS sig= values, key=value and "key": "value"
// secrets (passwords, tokens, account keys, connection strings,
// environment assignments), URL user:password@, Authorization headers,
// PEM private keys, and passwords typed on command lines (database
// clients, sshpass, curl/wget, net user, cmdkey, PowerShell -Password,
// ConvertTo-SecureString, echo | sudo -S, ...). The shape around a secret
// is kept; only the secret becomes Marker.
func String(s string) string {
	if s == "" {
		return s
	}
	found, na := scan(gate, bytesOf(s), false)
	if !na && !gate.complete(found) {
		return s
	}
	for i, r := range catalogue {
		if na || ruleNeeded(gate.ruleOf[i], found) {
			s = r.apply(s)
		}
	}
	return s
}

// CommandLine is String. It is kept for callers that redact command text
// (handler logs, commandToExecute): every command-line form is in the
// catalogue String applies, since scripts echo commands into their output
// and logs quote them.
func CommandLine(s string) string { return String(s) }

func ruleNeeded(masks []uint64, found uint64) bool {
	for _, m := range masks {
		if found&m == m {
			return true
		}
	}
	return false
}

// redactSig replaces the value of every sig= query parameter.
func redactSig(s string) string {
	var b strings.Builder
	last := 0
	i := 0
	for {
		j := indexFold(s[i:], "sig")
		if j < 0 {
			break
		}
		at := i + j
		i = at + 3
		if !sigBoundary(s, at) {
			continue
		}
		var vstart int
		switch {
		case i < len(s) && s[i] == '=':
			vstart = i + 1
		case i+3 <= len(s) && strings.EqualFold(s[i:i+3], "%3D"):
			vstart = i + 3
		default:
			continue
		}
		if strings.HasPrefix(s[vstart:], Marker) {
			i = vstart + len(Marker)
			continue
		}
		vend := sigValueEnd(s, vstart)
		if vend == vstart {
			i = vend
			continue
		}
		b.WriteString(s[last:vstart])
		b.WriteString(Marker)
		last = vend
		i = vend
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// sigBoundary: "sig" starts a parameter name (after ?, &, ;, the start of
// the text, whitespace, a quote, or an encoded & / ?).
func sigBoundary(s string, at int) bool {
	if at == 0 {
		return true
	}
	switch s[at-1] {
	case '?', '&', ';', ' ', '\t', '\n', '\r', '"', '\'', '(', ',', '{', '[':
		return true
	}
	if at >= 3 {
		p := s[at-3 : at]
		if strings.EqualFold(p, "%26") || strings.EqualFold(p, "%3F") {
			return true
		}
	}
	if at >= 5 && s[at-5:at] == "&amp;" {
		return true
	}
	return false
}

// sigValueEnd finds where a sig value ends.
func sigValueEnd(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '&', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '\\', ',', ';', ')', ']', '}', '#', ':':
			return i
		case '%':
			if i+3 <= len(s) && strings.EqualFold(s[i:i+3], "%26") {
				return i
			}
		}
		i++
	}
	return i
}

// indexFold is an allocation-free ASCII case-insensitive strings.Index.
func indexFold(s, sub string) int {
	n := len(sub)
	if n == 0 {
		return 0
	}
	c0 := lower(sub[0])
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != c0 {
			continue
		}
		ok := true
		for k := 1; k < n; k++ {
			if lower(s[i+k]) != lower(sub[k]) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}
