package golden

import (
	"fmt"
	"strings"
)

// Diff returns a unified-style line diff of want (the stored golden
// file) and got (this run), "" when they are equal. Common leading and
// trailing lines are trimmed; the middle is diffed line by line when
// small enough, else shown whole.
func Diff(wantName, gotName, want, got string) string {
	if want == got {
		return ""
	}
	a := strings.Split(want, "\n")
	b := strings.Split(got, "\n")

	prefix := 0
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(a)-prefix && suffix < len(b)-prefix &&
		a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	ma := a[prefix : len(a)-suffix]
	mb := b[prefix : len(b)-suffix]

	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", wantName, gotName)
	start := prefix - context
	if start < 0 {
		start = 0
	}
	fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", start+1, len(ma)+prefix-start+min(context, suffix),
		start+1, len(mb)+prefix-start+min(context, suffix))
	for _, l := range a[start:prefix] {
		out.WriteString(" " + l + "\n")
	}

	if len(ma)*len(mb) <= 4_000_000 {
		for _, op := range lcsDiff(ma, mb) {
			out.WriteString(op + "\n")
		}
	} else {
		for _, l := range ma {
			out.WriteString("-" + l + "\n")
		}
		for _, l := range mb {
			out.WriteString("+" + l + "\n")
		}
	}

	for _, l := range a[len(a)-suffix : len(a)-suffix+min(context, suffix)] {
		out.WriteString(" " + l + "\n")
	}
	return out.String()
}

// lcsDiff is the textbook longest-common-subsequence diff.
func lcsDiff(a, b []string) []string {
	n, m := len(a), len(b)
	dp := make([][]int32, n+1)
	for i := range dp {
		dp[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else if dp[i+1][j] >= dp[i][j+1] {
				dp[i][j] = dp[i+1][j]
			} else {
				dp[i][j] = dp[i][j+1]
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, " "+a[i])
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			out = append(out, "-"+a[i])
			i++
		default:
			out = append(out, "+"+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, "-"+a[i])
	}
	for ; j < m; j++ {
		out = append(out, "+"+b[j])
	}
	return out
}
