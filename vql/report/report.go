// Package report renders one evidence root's executions and timeline as
// a self-contained HTML page (issue 16 §3): one file, inline CSS, JS and
// SVG, nothing fetched from the network, so it opens offline and can be
// mailed or attached to a case as is.
package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter/types"
)

//go:embed page.html.tmpl
var files embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"cell": cell,
}).ParseFS(files, "page.html.tmpl"))

// Input is what one page shows: the rows of Generic.Azure.Executions
// (Executions) and Generic.Azure.Timeline (Timeline, Undated) for Root.
type Input struct {
	Root       string // the evidence root as the analyst named it
	Executions []*ordereddict.Dict
	Timeline   []*ordereddict.Dict
	Undated    []*ordereddict.Dict
	// ActivityLog: whether control-plane records were read (the Activity
	// Log family); without them "runs with no control-plane record"
	// cannot be answered, and the page says so.
	ActivityLog bool
	// WhoRanIt: Generic.Azure.WhoRanIt's Executions (Match: Matched,
	// NoControlPlaneRecord, ...) and OperationsWithoutTrace (NoHostTrace,
	// Deletion) when the Activity Log was read.
	WhoRanIt, NoTrace []*ordereddict.Dict
}

// ExecColumns are the executions table's columns, in order.
var ExecColumns = []string{"Started", "Finished", "Handler", "ExtensionName", "SeqNo", "Command",
	"CommandSource", "Status", "ExitCode", "RunAsUser", "TimeConflict"}

// TimelineColumns are the timeline table's columns.
var TimelineColumns = []string{"Time", "TimeKind", "Source", "Handler", "ExtensionName", "SeqNo", "Summary", "TimeConflict"}

type view struct {
	Root                 string
	Findings             []finding
	ExecCols, TLCols     []string
	Execs, TL, Undated   [][]string
	Chart                chart
	NExec, NTL, NUndated int
}

type finding struct {
	Kind, Text string
}

// Render writes the page.
func Render(w io.Writer, in Input) error {
	v := view{Root: in.Root, ExecCols: ExecColumns, TLCols: TimelineColumns,
		NExec: len(in.Executions), NTL: len(in.Timeline), NUndated: len(in.Undated)}
	for _, r := range in.Executions {
		v.Execs = append(v.Execs, cells(r, ExecColumns))
	}
	for _, r := range in.Timeline {
		v.TL = append(v.TL, cells(r, TimelineColumns))
	}
	for _, r := range in.Undated {
		v.Undated = append(v.Undated, cells(r, TimelineColumns))
	}
	v.Findings = findings(in)
	v.Chart = buildChart(in.Executions)
	return page.Execute(w, v)
}

func get(r *ordereddict.Dict, k string) interface{} {
	v, _ := r.Get(k)
	if f, ok := v.(func() types.Any); ok {
		return f()
	}
	return v
}

func str(r *ordereddict.Dict, k string) string { return cell(get(r, k)) }

func cells(r *ordereddict.Dict, cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = cell(get(r, c))
	}
	return out
}

// cell renders a value as table text: NULL empty, times RFC 3339 UTC.
func cell(v interface{}) string {
	switch x := v.(type) {
	case nil, types.Null, *types.Null:
		return ""
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func timeOf(v interface{}) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, !x.IsZero()
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

func label(r *ordereddict.Dict) string {
	s := str(r, "Handler")
	if n := str(r, "ExtensionName"); n != "" {
		s += " " + n
	}
	return s + " seq " + str(r, "SeqNo")
}

// findings are the facts a responder reads first.
func findings(in Input) []finding {
	var out []finding
	for _, r := range in.Executions {
		switch str(r, "CommandSource") {
		case "protectedSettings":
			out = append(out, finding{"decrypted", label(r) + ": command recovered by decrypting its protected settings: " + firstLine(str(r, "Command"))})
		case "goalstate":
			out = append(out, finding{"recovered", label(r) + ": the extension's own copy of the command is gone; recovered from goal-state history: " + firstLine(str(r, "Command"))})
		}
		if get(r, "SettingsEmpty") == true {
			out = append(out, finding{"deleted", label(r) + ": settings file emptied (0 bytes) by the handler's cleanup"})
		}
		// Run Command v1 writes a protected script to script.sh before it
		// runs it (a public commandToExecute leaves none): gone means deleted.
		if str(r, "CommandSource") == "protectedSettings" && str(r, "ScriptPath") == "" && str(r, "WorkingDir") != "" && str(r, "Kind") == "RunCommand" {
			out = append(out, finding{"deleted", label(r) + ": script file gone from its working folder (deleted after it ran?)"})
		}
		if ec := str(r, "ExitCode"); (ec != "" && ec != "0") || str(r, "Status") == "error" {
			out = append(out, finding{"failed", label(r) + ": ended in error" + exitText(ec) + ": " + firstLine(str(r, "Command"))})
		}
		if get(r, "Running") == true {
			out = append(out, finding{"running", label(r) + ": no end recorded (still running when collected)"})
		}
		if tc := str(r, "TimeConflict"); tc != "" {
			out = append(out, finding{"time", label(r) + ": " + tc})
		}
	}
	for _, r := range in.WhoRanIt {
		if m := str(r, "Match"); m != "" && m != "Matched" {
			out = append(out, finding{"nocontrol", label(r) + ": no control-plane record (" + m + "): " + str(r, "Reason")})
		}
	}
	for _, r := range in.NoTrace {
		switch str(r, "Match") {
		case "Deletion":
			out = append(out, finding{"deleted", "Activity Log: " + str(r, "Operation") + " by " + str(r, "Caller") + " at " + str(r, "OperationStart") + " (extension deleted)"})
		case "NoHostTrace":
			out = append(out, finding{"nocontrol", "Activity Log: " + str(r, "Operation") + " by " + str(r, "Caller") + " at " + str(r, "OperationStart") + " left no trace on the VM"})
		}
	}
	if !in.ActivityLog {
		out = append(out, finding{"note", "Activity Log not read: runs with no control-plane record cannot be listed (collect the subscription's Activity Log to answer who sent each run)"})
	}
	return out
}

func exitText(ec string) string {
	if ec == "" {
		return ""
	}
	return ", exit " + ec
}

func firstLine(s string) string {
	if s == "" {
		return "(command not recorded)"
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "#!") {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = strings.TrimSpace(s[i+1:])
		}
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// chart is the SVG timeline: one lane per handler, an execution as a bar
// from Started to Finished (a dot when only one is known), a deletion
// (settings emptied) as a cross at the time it was seen.
type chart struct {
	Width, Height int
	Lanes         []lane
	Marks         []mark
	Ticks         []tick
	Empty         bool
}

type lane struct {
	Y    int
	Name string
}

type mark struct {
	Kind           string // exec | del
	X, Y, W        int
	Title, Handler string
}

type tick struct {
	X             int
	Label, Anchor string
}

const (
	chartW    = 1100
	laneH     = 34
	labelW    = 330
	topMargin = 28
)

func buildChart(execs []*ordereddict.Dict) chart {
	var lo, hi time.Time
	see := func(t time.Time) {
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	lanes := map[string]int{}
	var names []string
	for _, r := range execs {
		h := str(r, "Handler")
		if _, ok := lanes[h]; !ok {
			lanes[h] = 0
			names = append(names, h)
		}
		for _, k := range []string{"Started", "Finished", "SettingsMtime"} {
			if t, ok := timeOf(get(r, k)); ok {
				see(t)
			}
		}
	}
	sort.Strings(names)
	c := chart{Width: chartW, Height: topMargin + laneH*len(names) + 10}
	for i, n := range names {
		lanes[n] = topMargin + i*laneH
		c.Lanes = append(c.Lanes, lane{Y: lanes[n], Name: n})
	}
	if lo.IsZero() {
		c.Empty = true
		return c
	}
	span := hi.Sub(lo)
	if span <= 0 {
		span = time.Minute
	}
	plotW := chartW - labelW - 20
	x := func(t time.Time) int { return labelW + int(float64(plotW)*float64(t.Sub(lo))/float64(span)) }
	for i := 0; i <= 4; i++ {
		t := lo.Add(span * time.Duration(i) / 4)
		anchor := "middle"
		if i == 4 {
			anchor = "end" // inside the picture
		}
		c.Ticks = append(c.Ticks, tick{X: x(t), Label: t.UTC().Format("2006-01-02 15:04"), Anchor: anchor})
	}
	for _, r := range execs {
		y := lanes[str(r, "Handler")]
		s, okS := timeOf(get(r, "Started"))
		f, okF := timeOf(get(r, "Finished"))
		if okS || okF {
			if !okS {
				s = f
			}
			if !okF {
				f = s
			}
			x0, x1 := x(s), x(f)
			if x1 < x0 {
				x0, x1 = x1, x0
			}
			w := x1 - x0
			if w < 6 {
				w = 6
			}
			title := fmt.Sprintf("%s: %s, %s to %s", label(r), firstLine(str(r, "Command")), cell(get(r, "Started")), cell(get(r, "Finished")))
			c.Marks = append(c.Marks, mark{Kind: "exec", X: x0, Y: y + 6, W: w, Title: title, Handler: str(r, "Handler")})
		}
		if get(r, "SettingsEmpty") == true {
			if t, ok := timeOf(get(r, "SettingsMtime")); ok {
				c.Marks = append(c.Marks, mark{Kind: "del", X: x(t), Y: y + 6, W: 10,
					Title: label(r) + ": settings emptied at " + cell(t), Handler: str(r, "Handler")})
			}
		}
	}
	return c
}
