package redact

import (
	"strings"
	"testing"
)

// Every form in the catalogue: its samples come out exactly as written,
// a second pass changes nothing, and each rule has at least one sample.
func TestCatalogue(t *testing.T) {
	for _, r := range catalogue {
		if len(r.samples) == 0 {
			t.Errorf("%s: no sample", r.name)
		}
		if len(r.need) == 0 {
			t.Errorf("%s: no need set (the gate cannot see it)", r.name)
		}
		for _, s := range r.samples {
			got := String(s[0])
			if got != s[1] {
				t.Errorf("%s:\n in   %q\n got  %q\n want %q", r.name, s[0], got, s[1])
			}
			if again := String(got); again != got {
				t.Errorf("%s: not idempotent: %q -> %q", r.name, got, again)
			}
			if strings.Contains(s[1], Marker) == false {
				t.Errorf("%s: sample output %q redacts nothing", r.name, s[1])
			}
		}
	}
}

// Ordinary text is not mangled.
func TestPlainTextKept(t *testing.T) {
	for _, s := range plainSamples {
		if got := String(s); got != s {
			t.Errorf("changed ordinary text:\n in  %q\n got %q", s, got)
		}
	}
}

// The gate says yes for every sample of every rule, and each rule's own
// need set is complete on each of its samples (a rule whose need words
// are not in its own sample would be skipped by String).
func TestGateCoversCatalogue(t *testing.T) {
	for i, r := range catalogue {
		for _, s := range r.samples {
			if !MayHoldSecret([]byte(s[0])) || !MayHoldSecretString(s[0]) {
				t.Errorf("%s: gate says no for %q", r.name, s[0])
			}
			found, na := scan(gate, bytesOf(s[0]), false)
			if !na && !ruleNeeded(gate.ruleOf[i], found) {
				t.Errorf("%s: its need sets are not complete on its own sample %q", r.name, s[0])
			}
			// the rule alone redacts its sample: no rule leans on another
			if got := r.apply(s[0]); got == s[0] {
				t.Errorf("%s: the rule alone does not change %q", r.name, s[0])
			}
		}
		for _, set := range r.need {
			for _, w := range set {
				if w != strings.ToLower(w) || strings.Contains(strings.ToLower(Marker), w) {
					t.Errorf("%s: need word %q must be lower case and not in the marker", r.name, w)
				}
			}
		}
	}
	for _, s := range []string{"", "echo hello", "2024-01-01T00:01:29Z INFO ExtHandler Agent is running"} {
		if MayHoldSecretString(s) {
			t.Errorf("gate says yes for %q", s)
		}
	}
	if !MayHoldSecretString("paſſword=x") {
		t.Error("gate must say yes for non-ASCII text ((?i) folds Unicode)")
	}
}

// FuzzRedactGate: whenever String would change a text, the gate lets it
// through.
func FuzzRedactGate(f *testing.F) {
	for _, r := range catalogue {
		for _, s := range r.samples {
			f.Add(s[0])
		}
	}
	for _, s := range plainSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if String(s) != s && !MayHoldSecret([]byte(s)) {
			t.Fatalf("gate missed a secret in %q", s)
		}
		if MayHoldSecret([]byte(s)) != MayHoldSecretString(s) {
			t.Fatalf("byte and string gates differ on %q", s)
		}
		found, na := scan(gate, []byte(s), false)
		if want, wantNA := naiveScan([]byte(s)); na != wantNA || !na && found != want {
			t.Fatalf("scan of %q: words %x (non-ASCII %v), every word at every byte: %x (%v)", s, found, na, want, wantNA)
		}
	})
}

// naiveScan is what scan computes, the slow way: every word compared at
// every byte up to the first byte >= 0x80.
func naiveScan(m []byte) (found uint64, nonASCII bool) {
	for i, c := range m {
		if c >= 0x80 {
			return found, true
		}
		for k, w := range gate.words {
			if foldAt(m, i, w) {
				found |= 1 << k
			}
		}
	}
	return found, false
}

// TestScanMatchesNaive: the gate's tables find the words a compare of
// every word at every byte finds, on the catalogue's samples, plain
// text and the benchmark's log lines, in any case.
func TestScanMatchesNaive(t *testing.T) {
	var texts []string
	for _, r := range catalogue {
		for _, s := range r.samples {
			texts = append(texts, s[0], s[1])
		}
	}
	texts = append(texts, plainSamples...)
	for _, l := range gateLines {
		texts = append(texts, string(l))
	}
	for _, s := range texts {
		for _, v := range []string{s, strings.ToUpper(s), strings.ToLower(s), s + "|", "@" + s + "%"} {
			found, na := scan(gate, []byte(v), false)
			if want, wantNA := naiveScan([]byte(v)); na != wantNA || !na && found != want {
				t.Errorf("scan of %q: words %x, want %x", v, found, want)
			}
		}
	}
}
