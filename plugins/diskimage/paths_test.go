package diskimage

import (
	"strings"
	"testing"
)

// Root's bases ("/" for Linux artifacts, `C:\` for Windows ones) must
// both name the volume's root, and joined paths must split back.
func TestPaths(t *testing.T) {
	for in, want := range map[string]string{
		`/`: ``, `C:\`: ``, `c:`: ``, `C:\Packages\Plugins`: `Packages|Plugins`,
		`/var/lib/waagent/`: `var|lib|waagent`, `/a/./b/../c`: `a|c`, `\..\x`: `x`,
	} {
		if got := strings.Join(splitPath(in), "|"); got != want {
			t.Errorf("splitPath(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range [][3]string{
		{`/`, `var`, `/var`}, {`C:\`, `Packages`, `C:\Packages`}, {`C:\Packages`, `Plugins`, `C:\Packages\Plugins`},
		{`/var`, `log`, `/var/log`}, {``, `x`, `/x`},
	} {
		if got := joinPath(c[0], c[1]); got != c[2] {
			t.Errorf("joinPath(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
