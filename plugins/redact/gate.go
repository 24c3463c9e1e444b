package redact

import "unsafe"

// The gate answers "can String change this text?" in one pass, so the
// common log line skips the regexps. It is derived from the catalogue's
// need sets: the words of every set are numbered (at most 64), a pass
// over the text marks the words it holds (a table of the pairs of bytes
// that can start one), and the answer is yes as soon as one set is complete. Any
// byte >= 0x80 also says yes: the rules' (?i) regexps fold Unicode
// (U+017F 'ſ' matches s, U+212A KELVIN SIGN matches k), which an ASCII
// word test cannot see. String runs a rule only when its set is complete
// (or the text is not ASCII), so the gate is right by construction;
// TestGateCoversCatalogue and FuzzRedactGate check it.

type gateTable struct {
	words  []string     // lower-case ASCII
	first  [256][]uint8 // word numbers by first byte (both cases)
	sets   []uint64     // one mask per need set of every rule
	ruleOf [][]uint64   // each rule's masks, in catalogue order
	// pair[c<<7|b] numbers the group of words (groups[n]) that can start
	// at c followed by b (< 0x80): the words whose first two bytes are
	// c and b in either case, and the one-byte words c. 0: none. Most
	// bytes are passed over after this one lookup, and the others
	// compare only the words of their two bytes.
	pair   [128 * 128]uint8
	single [128]uint8 // the group of one-byte words c (the last byte, or one before a byte >= 0x80)
	groups [][]uint8
	// head[k] is word k's first (up to) four bytes as one compare:
	// a text's four bytes x match when x|fold&care == want (fold sets
	// the lower-case bit where the word has a letter, care masks the
	// bytes past a shorter word).
	head []wordHead
}

type wordHead struct{ want, fold, care uint32 }

var gate = buildGate(catalogue)

func buildGate(rules []*rule) *gateTable {
	g := &gateTable{}
	num := map[string]uint8{}
	for _, r := range rules {
		var masks []uint64
		for _, set := range r.need {
			var m uint64
			for _, w := range set {
				k, ok := num[w]
				if !ok {
					if len(g.words) == 64 {
						panic("redact: more than 64 gate words")
					}
					k = uint8(len(g.words))
					num[w] = k
					g.words = append(g.words, w)
					for _, c := range []byte{w[0], upper(w[0])} {
						if len(g.first[c]) > 0 && g.first[c][len(g.first[c])-1] == k {
							continue
						}
						g.first[c] = append(g.first[c], k)
					}
				}
				m |= 1 << k
			}
			masks = append(masks, m)
			g.sets = append(g.sets, m)
		}
		g.ruleOf = append(g.ruleOf, masks)
	}
	for _, w := range g.words {
		var h wordHead
		for j := 0; j < len(w) && j < 4; j++ {
			h.want |= uint32(w[j]) << (8 * j)
			h.care |= 0xff << (8 * j)
			if w[j] >= 'a' && w[j] <= 'z' {
				h.fold |= 0x20 << (8 * j)
			}
		}
		g.head = append(g.head, h)
	}
	g.groups = [][]uint8{nil}
	group := map[string]uint8{}
	number := func(ks []uint8) uint8 {
		if len(ks) == 0 {
			return 0
		}
		n, ok := group[string(ks)]
		if !ok {
			if len(g.groups) == 256 {
				panic("redact: more than 255 gate word groups")
			}
			n = uint8(len(g.groups))
			group[string(ks)] = n
			g.groups = append(g.groups, ks)
		}
		return n
	}
	for c := 0; c < 128; c++ {
		var one []uint8
		for _, k := range g.first[c] {
			if len(g.words[k]) == 1 {
				one = append(one, k)
			}
		}
		g.single[c] = number(one)
		for b := 0; b < 128; b++ {
			var ks []uint8
			for _, k := range g.first[c] {
				if w := g.words[k]; len(w) == 1 || lower(byte(b)) == w[1] {
					ks = append(ks, k)
				}
			}
			g.pair[c<<7|b] = number(ks)
		}
	}
	return g
}

// scan marks the words text holds. With stop set it returns as soon as a
// need set is complete. nonASCII reports a byte >= 0x80 (scan stops there).
func scan(g *gateTable, m []byte, stop bool) (found uint64, nonASCII bool) {
	for i := 0; i < len(m); i++ {
		c := m[i]
		var n uint8
		if i+1 < len(m) && c|m[i+1] < 0x80 {
			// The common byte: one lookup of it and the next, most
			// often 0 (a branch the processor predicts).
			if n = g.pair[(uint(c)<<7|uint(m[i+1]))&uint(len(g.pair)-1)]; n == 0 {
				continue
			}
		} else {
			if c >= 0x80 {
				return found, true
			}
			if n = g.single[c]; n == 0 {
				continue
			}
		}
		var x uint32
		if i+4 <= len(m) {
			x = uint32(m[i]) | uint32(m[i+1])<<8 | uint32(m[i+2])<<16 | uint32(m[i+3])<<24
		}
		for _, k := range g.groups[n] {
			if found&(1<<k) != 0 {
				continue
			}
			if i+4 <= len(m) {
				h := &g.head[k]
				if (x|h.fold)&h.care != h.want || len(g.words[k]) > 4 && !foldAt(m, i, g.words[k]) {
					continue
				}
			} else if !foldAt(m, i, g.words[k]) {
				continue
			}
			found |= 1 << k
			if stop && g.complete(found) {
				return found, false
			}
		}
	}
	return found, false
}

func (g *gateTable) complete(found uint64) bool {
	for _, m := range g.sets {
		if found&m == m {
			return true
		}
	}
	return false
}

// MayHoldSecret reports whether String (and so CommandLine) may change
// m. No means m holds none of the catalogue's forms. Use it to skip
// redaction of the common line cheaply.
func MayHoldSecret(m []byte) bool {
	found, na := scan(gate, m, true)
	return na || gate.complete(found)
}

// MayHoldSecretString is MayHoldSecret for a string.
func MayHoldSecretString(s string) bool {
	found, na := scan(gate, bytesOf(s), true)
	return na || gate.complete(found)
}

// foldAt: m[i:] starts with w (lower-case ASCII), ASCII case-folded.
func foldAt(m []byte, i int, w string) bool {
	if len(m)-i < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if lower(m[i+k]) != w[k] {
			return false
		}
	}
	return true
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

// bytesOf views s as bytes without a copy; scan only reads them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
