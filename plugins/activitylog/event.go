package activitylog

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// Columns of azure_activity_log, in order.
var Columns = []string{
	"Time", "Operation", "OperationName", "Kind", "Phase", "Status", "SubStatus", "Caller", "CallerIp",
	"AppId", "Client", "PrincipalType", "TenantId", "SubscriptionId", "ResourceGroup", "VM", "ExtensionName",
	"ResourceId", "CorrelationId", "OperationId", "Claims", "Properties", "RequestBody", "Format", "OSPath",
}

var columns = vqlkit.NewColumns(Columns...)

// Event is one Activity Log record, whatever export shape it came from.
type Event struct {
	Time                                       time.Time
	Operation, OperationName, Kind, Phase      string
	Status, SubStatus, Caller, CallerIp, AppId string
	Client, PrincipalType, TenantId, SubID     string
	ResourceGroup, VM, ExtensionName           string
	ResourceId, CorrelationId, OperationId     string
	Claims, Properties, RequestBody            any
	Format, OSPath                             string
}

// Row is the event as a row of Columns.
func (e *Event) Row() *ordereddict.Dict {
	s := vqlkit.Str
	return columns.Row(vqlkit.Time(e.Time), s(e.Operation), s(e.OperationName), s(e.Kind), s(e.Phase),
		s(e.Status), s(e.SubStatus), s(e.Caller), s(e.CallerIp), s(e.AppId), s(e.Client), s(e.PrincipalType),
		s(e.TenantId), s(e.SubID), s(e.ResourceGroup), s(e.VM), s(e.ExtensionName), s(e.ResourceId),
		s(e.CorrelationId), s(e.OperationId), e.Claims, e.Properties, e.RequestBody, s(e.Format), s(e.OSPath))
}

// record is one decoded export record with case-insensitive lookups
// (REST writes camelCase, Log Analytics PascalCase, SIEMs anything).
type record struct {
	d     *ordereddict.Dict
	lower map[string]string // lower-case key -> key as written
}

func newRecord(d *ordereddict.Dict) *record {
	r := &record{d: d, lower: make(map[string]string, d.Len())}
	for _, k := range d.Keys() {
		lk := strings.ToLower(k)
		if _, dup := r.lower[lk]; !dup {
			r.lower[lk] = k
		}
	}
	return r
}

func (r *record) get(k string) (any, bool) {
	if v, ok := r.d.Get(k); ok {
		return v, true
	}
	if kk, ok := r.lower[strings.ToLower(k)]; ok {
		return r.d.Get(kk)
	}
	return nil, false
}

// sub returns the dict under k, parsing a JSON string (Log Analytics
// CSV cells, properties.requestbody) when that is what the export holds.
func (r *record) sub(k string) *record {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	if d := asDict(v); d != nil {
		return newRecord(d)
	}
	return nil
}

// path follows a dotted path of keys; the last key may hold any value.
func (r *record) path(keys ...string) (any, bool) {
	cur := r
	for i, k := range keys {
		if cur == nil {
			return nil, false
		}
		if i == len(keys)-1 {
			return cur.get(k)
		}
		cur = cur.sub(k)
	}
	return nil, false
}

// str is the first non-empty string among dotted paths.
func (r *record) str(paths ...string) string {
	for _, p := range paths {
		v, ok := r.path(strings.Split(p, "|")...)
		if !ok {
			continue
		}
		if s := scalar(v); s != "" {
			return s
		}
	}
	return ""
}

func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	case nil:
		return ""
	case *ordereddict.Dict:
		// {"value": ..., "localizedValue": ...} where a string was expected.
		if s, ok := t.Get("value"); ok {
			return scalar(s)
		}
	}
	return ""
}

func asDict(v any) *ordereddict.Dict {
	switch t := v.(type) {
	case *ordereddict.Dict:
		return t
	case string:
		s := strings.TrimSpace(t)
		if len(s) < 2 || s[0] != '{' {
			return nil
		}
		d, err := parseDict([]byte(s))
		if err != nil {
			return nil
		}
		return d
	}
	return nil
}

// timeLayouts are the forms the exports write times in: RFC 3339 with
// 7 fractional digits (REST), Log Analytics CSV (`2024-05-02T10:11:40.698Z`,
// or `5/2/2024, 10:11:40.698 AM` from the portal's export).
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05.9999999", "1/2/2006, 3:04:05.999 PM", "1/2/2006 3:04:05 PM", "1/2/2006, 3:04:05 PM",
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// statusWords map Log Analytics' ActivityStatusValue and the resource-log
// resultType onto the Activity Log's status.value vocabulary.
var statusWords = map[string]string{
	"start": "Started", "started": "Started", "accept": "Accepted", "accepted": "Accepted",
	"success": "Succeeded", "succeeded": "Succeeded", "failure": "Failed", "failed": "Failed",
	"cancel": "Canceled", "canceled": "Canceled", "cancelled": "Canceled", "active": "Active",
	"resolved": "Resolved", "inprogress": "InProgress", "in progress": "InProgress",
}

func normaliseStatus(s string) string {
	if n, ok := statusWords[strings.ToLower(s)]; ok {
		return n
	}
	return s
}

// mapRecord maps one record of any shape onto an Event.
// It is long because it is the one place that knows where each column lives in each
// export shape: a table of first-present paths, column by column.
func mapRecord(r *record, format, osPath string, red bool) *Event {
	e := &Event{Format: format, OSPath: osPath}
	e.Time = parseTime(r.str("eventTimestamp", "time", "TimeGenerated", "TimeGenerated [UTC]", "Event timestamp", "timestamp"))
	props := r.sub("properties")
	if props == nil {
		props = r.sub("Properties_d")
	}
	opRaw := r.str("operationName|value", "OperationNameValue", "evt|name", "authorization|action", "Operation name value")
	if opRaw == "" {
		// resource-log schema: operationName is the value itself; LA's
		// OperationName is the display name unless it looks like a value.
		if s := r.str("operationName"); strings.Count(s, "/") >= 2 {
			opRaw = s
		}
	}
	if opRaw == "" && props != nil {
		opRaw = props.str("message")
	}
	e.Operation, e.Kind = NormaliseOperation(opRaw)
	if disp := r.str("operationName|localizedValue", "Operation name"); disp != "" {
		e.OperationName = disp
	} else if s := r.str("OperationName"); s != "" && strings.Count(s, "/") < 2 {
		e.OperationName = s
	}
	if e.Operation == "" && e.OperationName != "" {
		// The portal's CSV has only the display name: the documented
		// display names of the operations this tool is about map back.
		e.Operation, e.Kind = NormaliseOperation(displayOps[strings.ToLower(e.OperationName)])
	}
	if e.Kind == "" {
		e.Kind = KindOther
	}
	e.Phase = r.str("eventName|value", "EventName", "Event name")
	e.Status = normaliseStatus(r.str("status|value", "ActivityStatusValue", "ActivityStatus", "resultType", "evt|outcome", "Status"))
	e.SubStatus = r.str("subStatus|value", "ActivitySubstatusValue", "ActivitySubstatus", "resultSignature", "Sub status")
	claims := r.sub("claims")
	if claims == nil {
		claims = r.sub("Claims_d")
	}
	if claims == nil {
		claims = r.sub("identity")
		if claims != nil {
			claims = claims.sub("claims")
		}
	}
	auth := r.sub("authorization")
	if auth == nil {
		auth = r.sub("Authorization_d")
	}
	if auth == nil {
		if id := r.sub("identity"); id != nil {
			auth = id.sub("authorization")
		}
	}
	e.Caller = r.str("caller", "Event initiated by")
	if e.Caller == "" && props != nil {
		e.Caller = props.str("caller")
	}
	if e.Caller == "" && claims != nil {
		e.Caller = claims.str("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn")
	}
	e.CallerIp = r.str("httpRequest|clientIpAddress", "callerIpAddress", "HTTPRequest|clientIpAddress")
	if claims != nil {
		if e.CallerIp == "" {
			e.CallerIp = claims.str("ipaddr")
		}
		e.AppId = claims.str("appid", "azp")
		e.TenantId = claims.str("http://schemas.microsoft.com/identity/claims/tenantid", "tid")
		e.Claims = claims.d
	}
	e.Client = Clients[strings.ToLower(e.AppId)]
	if auth != nil {
		if ev := auth.sub("evidence"); ev != nil {
			e.PrincipalType = ev.str("principalType")
		}
	}
	if e.TenantId == "" {
		e.TenantId = r.str("tenantId")
	}
	e.ResourceId = r.str("resourceId", "ResourceId", "_ResourceId", "Resource id", "resourceUri")
	if res := r.str("Resource"); e.ResourceId == "" && strings.HasPrefix(res, "/") {
		e.ResourceId = res // the portal CSV's Resource column holds the id
	}
	if props != nil {
		// entity keeps the case the caller used where the resource id was
		// upper-cased (Log Analytics, SIEM copies).
		if ent := props.str("entity"); ent != "" && (e.ResourceId == "" || strings.EqualFold(ent, e.ResourceId)) {
			e.ResourceId = ent
		}
		if e.TenantId == "" {
			// hierarchy is <tenant root group>/.../<subscription>: the
			// tenant root management group's id is the tenant id.
			if h := props.str("hierarchy"); h != "" {
				e.TenantId = strings.SplitN(h, "/", 2)[0]
			}
		}
	}
	if e.TenantId == "" {
		if h := r.str("Hierarchy"); h != "" {
			e.TenantId = strings.SplitN(h, "/", 2)[0]
		}
	}
	rp := parseResourceID(e.ResourceId)
	e.SubID = r.str("subscriptionId", "Subscription id")
	if e.SubID == "" {
		e.SubID = rp.sub
	}
	e.ResourceGroup = r.str("resourceGroupName", "ResourceGroup", "Resource group")
	if e.ResourceGroup == "" {
		e.ResourceGroup = rp.rg
	}
	e.VM, e.ExtensionName = rp.vm, rp.ext
	e.CorrelationId = r.str("correlationId", "Correlation id")
	e.OperationId = r.str("operationId", "Operation id")
	var body any
	if props != nil {
		if v, ok := props.get("requestbody"); ok {
			body = v
		}
	}
	if body == nil {
		if v, ok := r.get("requestbody"); ok {
			body = v
		}
	}
	if s, ok := body.(string); ok && strings.TrimSpace(s) == "" {
		body = nil
	}
	if d := asDict(body); d != nil {
		body = d
	}
	e.RequestBody = body
	e.Properties = r.d
	if red {
		e.RequestBody = redactBody(e.RequestBody)
		e.Properties = redactRecord(r.d)
	}
	return e
}

// bodyKeys are the members of properties that carry what the caller sent
// or was answered: the only places of a record a secret can be in (the
// rest is identity, authorization and resource metadata).
var bodyKeys = map[string]bool{"requestbody": true, "responsebody": true, "statusmessage": true}

// redactRecord copies the record with its bodies redacted; members
// without a body are shared, not copied (a million events a run).
func redactRecord(d *ordereddict.Dict) *ordereddict.Dict {
	out := ordereddict.NewDict()
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		switch lk := strings.ToLower(k); {
		case lk == "properties" || lk == "properties_d":
			if p := asDict(v); p != nil {
				np := ordereddict.NewDict()
				for _, pk := range p.Keys() {
					pv, _ := p.Get(pk)
					if bodyKeys[strings.ToLower(pk)] {
						pv = redactBody(pv)
					}
					np.Set(pk, pv)
				}
				v = np
			}
		case bodyKeys[lk]:
			v = redactBody(v)
		}
		out.Set(k, v)
	}
	return out
}

// redactBody removes secrets from a request body or a whole record:
// protectedSettings (ARM strips them from what it logs, a copy
// elsewhere may not), then the settings rules every plugin applies
// (SAS sig=, storage keys, runAsPassword, protectedParameters values,
// passwords on command lines). A JSON string (requestbody as the
// Activity Log stores it) is redacted as JSON and stays a string.
func redactBody(v any) any {
	return redactWalk(v, 0)
}

func redactWalk(v any, depth int) any {
	if depth > 32 {
		return v
	}
	switch t := v.(type) {
	case *ordereddict.Dict:
		out := ordereddict.NewDict()
		for _, k := range t.Keys() {
			x, _ := t.Get(k)
			lk := strings.ToLower(k)
			switch {
			case x == nil || x == "":
				out.Set(k, x)
			case lk == "protectedsettings" || lk == "protectedsettingsfromkeyvault":
				out.Set(k, redact.Marker)
			case lk == "protectedparameters":
				// names kept, values redacted: the shared rule.
				red, _ := redact.Value(ordereddict.NewDict().Set(k, x)).(*ordereddict.Dict)
				y, _ := red.Get(k)
				out.Set(k, y)
			case redact.IsSecretKey(k):
				out.Set(k, redact.Marker)
			default:
				out.Set(k, redactWalk(x, depth+1))
			}
		}
		return redact.CommandKeys(out)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redactWalk(x, depth+1)
		}
		return out
	case string:
		if d := asDict(t); d != nil {
			b, err := json.Marshal(redactWalk(d, depth+1))
			if err == nil {
				return string(b)
			}
		}
		return redact.CommandLine(t)
	}
	return v
}
