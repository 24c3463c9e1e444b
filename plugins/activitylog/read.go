package activitylog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/logscan"
)

// Format values: which export shape a row came from.
const (
	FormatActivityJSON = "activity-log-json"  // portal JSON download, az monitor activity-log list, REST array
	FormatRESTPage     = "rest-page"          // {"value": [...], "nextLink": ...}
	FormatEventHub     = "event-hub"          // {"records": [...]}
	FormatResourceLog  = "resource-log-jsonl" // diagnostic settings to storage (PT1H.json): JSON lines
	FormatLAJSON       = "log-analytics-json" // AzureActivity rows as JSON
	FormatLACSV        = "log-analytics-csv"  // AzureActivity rows as CSV
	FormatPortalCSV    = "portal-csv"         // the portal's "Download as CSV"
)

// Options of one read.
type Options struct {
	OSPath string // the file, as reported in OSPath and log lines
	Redact bool
}

// ErrNotActivityLog is returned for a file that holds no export shape.
var ErrNotActivityLog = errors.New("not an Activity Log export")

// Read parses one export (any shape, gzip or not) and calls emit for
// every event; false from emit stops. Problems go to logf with the file
// name and, for a damaged JSON document, the byte offset where reading
// stopped; every event before it has been emitted. It returns the shape
// found (empty when none).
func Read(ctx context.Context, r io.Reader, opt Options, logf func(string), emit func(*Event) bool) string {
	br, comp, err := logscan.Decompress(r)
	if err != nil {
		logf(fmt.Sprintf("%s: %v", opt.OSPath, err))
		return ""
	}
	suffix := ""
	where := "byte offset"
	if comp != "" {
		suffix = "+" + comp
		where = "byte offset (of the decompressed data)"
	}
	skipBOM(br)
	first := peekNonSpace(br)
	p := &parser{ctx: ctx, opt: opt, logf: logf, emit: emit, suffix: suffix, where: where}
	switch first {
	case '{':
		if firstLineIsEvent(br) {
			return p.jsonLines(br)
		}
		return p.json(br)
	case '[':
		return p.json(br)
	case 0:
		logf(fmt.Sprintf("%s: empty file", opt.OSPath))
		return ""
	}
	return p.csv(br)
}

func skipBOM(br *bufio.Reader) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
}

// peekNonSpace skips leading white space and returns the next byte (0 at EOF).
func peekNonSpace(br *bufio.Reader) byte {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.Discard(1)
			continue
		}
		return b[0]
	}
}

// MaxLine caps one JSON line of a JSON-lines export (events are a few
// KiB; a longer line is reported and skipped).
const MaxLine = 16 << 20

// firstLineIsEvent: the document starts with a whole event on its first
// line (the diagnostic-settings PT1H.json, JSON lines): read it line by
// line, each line its own event, so a damaged line costs only itself.
func firstLineIsEvent(br *bufio.Reader) bool {
	for n := 4096; ; n *= 4 {
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			d, perr := parseDict(b[:i])
			return perr == nil && looksLikeEvent(d)
		}
		if err != nil || n > logscan.ReadBuf {
			// One line up to the end, or longer than the read
			// buffer: the token path reads any object.
			return false
		}
	}
}

// jsonLines reads one event per line.
func (p *parser) jsonLines(br *bufio.Reader) string {
	p.format = FormatResourceLog
	lr := logscan.NewLineReader(br, MaxLine)
	for line := int64(1); ; line++ {
		l, cut, err := lr.Next()
		if err != nil {
			if err != io.EOF {
				p.logf(fmt.Sprintf("%s: line %d: %v: reading stopped after %d events", p.opt.OSPath, line, err, p.n))
			}
			break
		}
		if cut {
			p.logf(fmt.Sprintf("%s: line %d longer than %d bytes: skipped", p.opt.OSPath, line, MaxLine))
			continue
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		d, perr := parseDict(l)
		if perr != nil {
			p.logf(fmt.Sprintf("%s: %v: line %d: %v: skipped", p.opt.OSPath, ErrBadJSON, line, perr))
			continue
		}
		if !p.send(d, "") {
			break
		}
	}
	return p.result()
}

type parser struct {
	ctx    context.Context
	opt    Options
	logf   func(string)
	emit   func(*Event) bool
	suffix string
	where  string
	n      int64 // events emitted
	format string
}

func (p *parser) send(d *ordereddict.Dict, format string) bool {
	r := newRecord(d)
	if format == "" {
		format = classify(r)
	}
	if p.format == "" {
		p.format = format
	}
	p.n++
	if p.n%1024 == 0 && p.ctx.Err() != nil {
		return false
	}
	return p.emit(mapRecord(r, format+p.suffix, p.opt.OSPath, p.opt.Redact))
}

// classify names the shape of a record outside a value/records wrapper.
func classify(r *record) string {
	if _, ok := r.get("OperationNameValue"); ok {
		return FormatLAJSON
	}
	if v, ok := r.get("operationName"); ok {
		if _, isStr := v.(string); isStr {
			return FormatResourceLog
		}
	}
	return FormatActivityJSON
}

func (p *parser) stopped(dec *json.Decoder, err error) {
	what := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		what = "the file ends inside a record (truncated)"
	}
	p.logf(fmt.Sprintf("%s: %s: reading stopped at %s %d after %d events: %s",
		p.opt.OSPath, ErrBadJSON, p.where, dec.InputOffset(), p.n, what))
}

// ErrBadJSON prefixes the log line of a damaged JSON export.
var ErrBadJSON = errors.New("damaged JSON")

// json streams a JSON export: an array of events; an object that wraps
// them (value/records arrays, any number of pages one after the other);
// or JSON lines of single events. Only one event is held at a time.
func (p *parser) json(br *bufio.Reader) string {
	dec := json.NewDecoder(br)
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.stopped(dec, err)
			break
		}
		switch tok {
		case json.Delim('['):
			if !p.array(dec, "") {
				return p.result()
			}
		case json.Delim('{'):
			if !p.object(dec) {
				return p.result()
			}
		default:
			p.logf(fmt.Sprintf("%s: %v: unexpected %v at %s %d", p.opt.OSPath, ErrNotActivityLog, tok, p.where, dec.InputOffset()))
			return p.result()
		}
	}
	if p.n == 0 && p.format == "" {
		p.logf(fmt.Sprintf("%s: no Activity Log events in this JSON document", p.opt.OSPath))
	}
	return p.result()
}

func (p *parser) result() string {
	if p.format == "" {
		return ""
	}
	return p.format + p.suffix
}

// array streams the elements of an array whose '[' was read; false
// means stop reading the file.
func (p *parser) array(dec *json.Decoder, format string) bool {
	for dec.More() {
		var d *ordereddict.Dict
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.stopped(dec, err)
			return false
		}
		if d = decodeDict(raw); d == nil {
			p.logf(fmt.Sprintf("%s: element before %s %d is not an object: skipped", p.opt.OSPath, p.where, dec.InputOffset()))
			continue
		}
		if p.n == 0 && !looksLikeEvent(d) {
			// Other JSON arrays (a handler's HandlerEnvironment.json, a
			// status file) are not exports: say so once, emit nothing.
			p.logf(fmt.Sprintf("%s: %v: the array's first object has no operation and time or resource", p.opt.OSPath, ErrNotActivityLog))
			return false
		}
		if !p.send(d, format) {
			return false
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		p.stopped(dec, err)
		return false
	}
	return true
}

func decodeDict(raw json.RawMessage) *ordereddict.Dict {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	d, err := parseDict(raw)
	if err != nil {
		return nil
	}
	return d
}

// object reads a top-level object whose '{' was read, key by key: a
// value or records array is streamed; any other object is one event
// (its members are small).
func (p *parser) object(dec *json.Decoder) bool {
	d := ordereddict.NewDict()
	wrapped := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.stopped(dec, err)
			return false
		}
		key, _ := tok.(string)
		lk := strings.ToLower(key)
		if lk == "value" || lk == "records" {
			t, err := dec.Token()
			if err != nil {
				p.stopped(dec, err)
				return false
			}
			if t == json.Delim('[') {
				wrapped = true
				f := FormatRESTPage
				if lk == "records" {
					f = FormatEventHub
				}
				if !p.array(dec, f) {
					return false
				}
				continue
			}
			if t == json.Delim('{') {
				p.logf(fmt.Sprintf("%s: %v: %q holds no array of events", p.opt.OSPath, ErrNotActivityLog, key))
				return false
			}
			// a scalar "value": a member of the event.
			d.Set(key, t)
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.stopped(dec, err)
			return false
		}
		if !wrapped {
			v, err := parseValue(raw)
			if err != nil {
				v = string(raw)
			}
			d.Set(key, v)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		p.stopped(dec, err)
		return false
	}
	if wrapped {
		return true
	}
	if !looksLikeEvent(d) {
		p.logf(fmt.Sprintf("%s: %v: an object without an operation and a time or resource (at %s %d)",
			p.opt.OSPath, ErrNotActivityLog, p.where, dec.InputOffset()))
		return true
	}
	return p.send(d, "")
}

// looksLikeEvent: an operation and a time or a resource - what every
// export shape has and other JSON documents (VmSettings.json has a
// correlationId) do not.
func looksLikeEvent(d *ordereddict.Dict) bool {
	r := newRecord(d)
	has := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := r.get(k); ok {
				return true
			}
		}
		return false
	}
	return has("operationName", "OperationNameValue", "evt") &&
		has("eventTimestamp", "time", "TimeGenerated", "resourceId", "_ResourceId", "correlationId")
}

// csvHeaders map a normalised CSV header (lower case, no spaces, no
// underscores, no " [UTC]") onto the JSON name the mapper reads.
var csvHeaders = map[string]string{
	// Log Analytics AzureActivity
	"timegenerated": "TimeGenerated", "timegeneratedutc": "TimeGenerated",
	"operationnamevalue": "OperationNameValue", "operationname": "OperationName",
	"activitystatusvalue": "ActivityStatusValue", "activitystatus": "ActivityStatus",
	"activitysubstatusvalue": "ActivitySubstatusValue", "activitysubstatus": "ActivitySubstatus",
	"caller": "caller", "calleripaddress": "callerIpAddress", "correlationid": "correlationId",
	"operationid": "operationId", "subscriptionid": "subscriptionId", "resourcegroup": "ResourceGroup",
	"resourceid": "resourceId", "resourceid2": "_ResourceId", "hierarchy": "Hierarchy",
	"propertiesd": "Properties_d", "properties": "Properties_d", "claimsd": "Claims_d", "claims": "Claims_d",
	"authorizationd": "Authorization_d", "authorization": "Authorization_d", "httprequest": "HTTPRequest",
	"eventdataid": "EventDataId", "level": "Level", "categoryvalue": "CategoryValue", "tenantid": "LATenantId",
	"eventsubmissiontimestamp": "EventSubmissionTimestamp", "eventsubmissiontimestamputc": "EventSubmissionTimestamp",
	// the portal's download (display headers)
	"time": "time", "timestamp": "time", "eventtimestamp": "eventTimestamp", "status": "Status",
	"eventinitiatedby": "Event initiated by", "resource": "Resource", "resourcetype": "Resource type",
	"subscription": "Subscription", "eventcategory": "Event category", "eventname": "EventName",
	"substatus": "Sub status", "operation": "OperationName",
}

func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	h = strings.TrimSuffix(h, " [utc]")
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(h)
}

// csv reads a CSV export by header name: extra columns are kept in
// Properties, missing ones are NULL, cells holding JSON are parsed. It is
// long because header detection, the shape decision and the record loop
// share the column names.
func (p *parser) csv(br *bufio.Reader) string {
	// A CSV export starts with a header line; a file without a line end
	// in its first read buffer (a binary, a one-line blob) is not read
	// into memory as one record.
	head, _ := br.Peek(logscan.ReadBuf)
	i := bytes.IndexByte(head, '\n')
	if i < 0 && len(head) < logscan.ReadBuf {
		i = len(head) // a one-line file
	}
	if i < 0 || !bytes.ContainsAny(head[:i], ",;\t") {
		p.logf(fmt.Sprintf("%s: %v (no CSV header line)", p.opt.OSPath, ErrNotActivityLog))
		return ""
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		p.logf(fmt.Sprintf("%s: %v: %v", p.opt.OSPath, ErrNotActivityLog, err))
		return ""
	}
	names := make([]string, len(header))
	known, la, hasOp := 0, false, false
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		n := normHeader(h)
		switch m, ok := csvHeaders[n]; {
		case h == "_ResourceId":
			names[i] = h
		case ok:
			names[i] = m
			known++
		default:
			names[i] = h
		}
		switch n {
		case "operationnamevalue":
			la, hasOp = true, true
		case "operationname", "operation":
			hasOp = true
		}
	}
	if !hasOp || known < 2 {
		p.logf(fmt.Sprintf("%s: %v (no operation column in the first line)", p.opt.OSPath, ErrNotActivityLog))
		return ""
	}
	format := FormatPortalCSV
	if la {
		format = FormatLACSV
	}
	p.format = format
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && rec == nil {
				p.logf(fmt.Sprintf("%s: line %d: %v: reading stopped after %d events", p.opt.OSPath, pe.Line, pe.Err, p.n))
				break
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(names) {
			p.logf(fmt.Sprintf("%s: line %d: %d cells for %d columns: read by position up to the shorter", p.opt.OSPath, line, len(rec), len(names)))
		}
		d := ordereddict.NewDict()
		for i, cell := range rec {
			if i >= len(names) {
				break
			}
			var v any = timeOrString(cell)
			if c := strings.TrimSpace(cell); len(c) > 1 && c[0] == '{' {
				if sub := decodeDict([]byte(c)); sub != nil {
					v = sub
				}
			}
			if cell == "" {
				v = nil
			}
			d.Set(names[i], v)
		}
		if !p.send(d, format) {
			break
		}
	}
	return p.result()
}
