package exchange

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/builtins"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/vfilter"
)

// This file writes a collection in the layout of Velociraptor
// v0.75.2's offline collector (vql/tools/collector/collector_manager.go
// and reporting/container.go), which import_collection()
// (vql/tools/collector/import.go) turns into a flow:
//
//	results/<Artifact>%2F<Source>.json   JSON lines (+ .json.index)
//	uploads/<accessor>/<components...>   the uploaded files
//	uploads.json                         one row per upload (+ .index)
//	log.json                             the query log (+ .index)
//	collection_context.json              flows_proto.ArtifactCollectorContext
//	requests.json                        api_proto.ApiFlowRequestDetails
//	client_info.json                     info() of the collecting host
//
// Member names are zip-sanitized as the container's (utils.SanitizeStringForZip);
// an index holds one little-endian uint64 per row: offset | 1<<40.

// RecordingUploader stores uploads with a DirUploader and remembers
// each one for uploads.json.
type RecordingUploader struct {
	Dir *builtins.DirUploader

	mu      sync.Mutex
	seen    map[string]bool
	uploads []*builtins.UploadResponse
}

// Upload implements builtins.Uploader.
func (self *RecordingUploader) Upload(ctx context.Context, scope vfilter.Scope,
	req builtins.UploadRequest, r io.Reader) (*builtins.UploadResponse, error) {
	res, err := self.Dir.Upload(ctx, scope, req, r)
	if res != nil && err == nil && !strings.HasSuffix(res.StoredName, "/") {
		self.mu.Lock()
		if self.seen == nil {
			self.seen = map[string]bool{}
		}
		if !self.seen[res.StoredName] {
			self.seen[res.StoredName] = true
			self.uploads = append(self.uploads, res)
		}
		self.mu.Unlock()
	}
	return res, err
}

// Uploads are the files stored so far.
func (self *RecordingUploader) Uploads() []*builtins.UploadResponse {
	self.mu.Lock()
	defer self.mu.Unlock()
	return append([]*builtins.UploadResponse(nil), self.uploads...)
}

// QueryStat is one request's outcome (crypto_proto.VeloStatus).
type QueryStat struct {
	Artifact  string
	Start     time.Time
	Duration  time.Duration
	Rows      map[string]int // per source full name
	LogRows   int
	Error     string
	Requested int // queries in the request
}

// Collection describes a finished collection for its container.
type Collection struct {
	SessionID string // F.XXXXXXXXXXXXX (NewFlowID when empty)
	Artifacts []string
	Params    map[string][]*artifacts.Env // per artifact, as given
	Requests  []*artifacts.Request
	Stats     []*QueryStat
	Start     time.Time
	Uploads   []*builtins.UploadResponse
	// Host is client_info.json (HostInfo when nil).
	Host *ordereddict.Dict
}

// NewFlowID returns a flow id shaped as Velociraptor's utils.NewFlowId:
// "F." and 13 base32hex characters.
func NewFlowID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "F." + base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:13]
}

// HostInfo is info()'s identity columns of this host, as the offline
// collector writes them: import_collection derives the client id
// C.<HostID> from it (when it has one) and the client's hostname.
func HostInfo() *ordereddict.Dict {
	hostname, _ := os.Hostname()
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	d := ordereddict.NewDict().
		Set("Hostname", hostname).
		Set("OS", runtime.GOOS).
		Set("Architecture", runtime.GOARCH)
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(f); err == nil && len(bytes.TrimSpace(b)) > 0 {
			d.Set("HostID", string(bytes.TrimSpace(b)))
			break
		}
	}
	return d.Set("Fqdn", hostname).Set("Exe", exe).Set("CWD", cwd).
		Set("Name", "azvql-vql").Set("BuildTime", "").Set("build_url", "")
}

func indexOf(data []byte) []byte {
	var idx bytes.Buffer
	offset := uint64(0)
	for len(data) > 0 {
		_ = binary.Write(&idx, binary.LittleEndian, offset|(1<<40))
		n := bytes.IndexByte(data, '\n')
		if n < 0 {
			n = len(data) - 1
		}
		offset += uint64(n + 1)
		data = data[n+1:]
	}
	return idx.Bytes()
}

type zipWriter struct {
	z     *zip.Writer
	mtime time.Time
}

func (self *zipWriter) add(name string, data []byte, mtime time.Time) error {
	if mtime.IsZero() {
		mtime = self.mtime
	}
	w, err := self.z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime})
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// resultSet adds a JSON-lines member and its index.
func (self *zipWriter) resultSet(name string, data []byte) error {
	if err := self.add(name, data, time.Time{}); err != nil {
		return err
	}
	return self.add(name+".index", indexOf(data), time.Time{})
}

// ContextJSON is collection_context.json for c (exported for tests).
func (c *Collection) ContextJSON(totalUploaded uint64, totalBytes uint64) *ordereddict.Dict {
	var specs []interface{}
	for _, a := range c.Artifacts {
		var env []interface{}
		for _, e := range c.Params[a] {
			env = append(env, ordereddict.NewDict().Set("key", e.Key).Set("value", e.Value))
		}
		spec := ordereddict.NewDict().Set("artifact", a)
		if len(env) > 0 {
			spec.Set("parameters", ordereddict.NewDict().Set("env", env))
		}
		specs = append(specs, spec)
	}
	var withResults []string
	var stats []interface{}
	total := 0
	logs := 0
	state, status := 2, "" // FINISHED
	var longest int64
	for i, s := range c.Stats {
		var names []string
		rows := 0
		for n, r := range s.Rows {
			rows += r
			if r > 0 {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		withResults = append(withResults, names...)
		total += rows
		logs += s.LogRows
		st := ordereddict.NewDict()
		if s.Error != "" {
			st.Set("status", 10).Set("error_message", s.Error) // GENERIC_ERROR
			if state == 2 {
				state, status = 3, s.Error // ERROR
			}
		}
		st.Set("duration", s.Duration.Nanoseconds())
		if len(names) > 0 {
			st.Set("names_with_response", names)
		}
		st.Set("log_rows", s.LogRows).Set("result_rows", rows).
			Set("query_id", i+1).Set("total_queries", len(c.Stats)).Set("Artifact", s.Artifact)
		if !s.Start.IsZero() {
			st.Set("first_active", s.Start.UnixNano()).Set("last_active", s.Start.Add(s.Duration).UnixNano())
		}
		stats = append(stats, st)
		if s.Duration.Nanoseconds() > longest {
			longest = s.Duration.Nanoseconds()
		}
	}
	ctx := ordereddict.NewDict().
		Set("session_id", c.SessionID).
		Set("request", ordereddict.NewDict().Set("artifacts", c.Artifacts).Set("specs", specs)).
		Set("create_time", c.Start.UnixNano()).
		Set("start_time", c.Start.UnixNano()).
		Set("total_uploaded_files", totalUploaded).
		Set("total_expected_uploaded_bytes", totalBytes).
		Set("total_uploaded_bytes", totalBytes).
		Set("total_collected_rows", total).
		Set("total_logs", logs).
		Set("total_requests", len(c.Stats)).
		Set("execution_duration", longest).
		Set("state", state)
	if status != "" {
		ctx.Set("status", status)
	}
	return ctx.Set("artifacts_with_results", withResults).Set("query_stats", stats)
}

// RequestsJSON is requests.json: the compiled requests, as the client
// would have received them (VeloMessage with a VQLClientAction).
func (c *Collection) RequestsJSON() *ordereddict.Dict {
	var items []interface{}
	for i, r := range c.Requests {
		var env []interface{}
		for _, e := range r.Env {
			env = append(env, ordereddict.NewDict().Set("key", e.Key).Set("value", e.Value))
		}
		var queries []interface{}
		for _, q := range r.Queries {
			qd := ordereddict.NewDict()
			if q.Name != "" {
				qd.Set("Name", q.Name)
			}
			queries = append(queries, qd.Set("VQL", q.VQL))
		}
		action := ordereddict.NewDict().Set("query_id", i+1).Set("total_queries", len(c.Requests))
		if r.Precondition != "" {
			action.Set("precondition", r.Precondition)
		}
		action.Set("env", env).Set("Query", queries)
		if r.Timeout > 0 {
			action.Set("timeout", r.Timeout)
		}
		items = append(items, ordereddict.NewDict().
			Set("session_id", c.SessionID).Set("request_id", i+1).Set("VQLClientAction", action))
	}
	return ordereddict.NewDict().Set("items", items)
}

// WriteContainer writes the collection in dir (the folder `vql
// artifacts collect --output DIR` writes: results/, uploads/,
// log.json) as a Velociraptor collection zip to w.
func WriteContainer(w io.Writer, dir string, c *Collection) error {
	if c.SessionID == "" {
		c.SessionID = NewFlowID()
	}
	zw := &zipWriter{z: zip.NewWriter(w), mtime: time.Now()}

	// results/*.json, sorted.
	matches, _ := filepath.Glob(filepath.Join(dir, "results", "*"))
	sort.Strings(matches)
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		name := "results/" + filepath.Base(m)
		if strings.HasSuffix(m, ".json") {
			err = zw.resultSet(name, data)
		} else {
			err = zw.add(name, data, time.Time{})
		}
		if err != nil {
			return err
		}
	}

	// The uploaded files, under their stored names.
	var uploadRows bytes.Buffer
	var totalBytes uint64
	for _, u := range c.Uploads {
		member := strings.TrimPrefix(u.StoredName, "/")
		f, err := os.Open(filepath.Join(append([]string{dir}, strings.Split(member, "/")...)...))
		if err != nil {
			return err
		}
		st, _ := f.Stat()
		hw, err := zw.z.CreateHeader(&zip.FileHeader{Name: member, Method: zip.Deflate, Modified: st.ModTime()})
		if err == nil {
			_, err = io.Copy(hw, bufio.NewReader(f))
		}
		f.Close()
		if err != nil {
			return err
		}
		totalBytes += u.Size
		now := time.Now()
		row := ordereddict.NewDict().
			Set("Timestamp", now).
			Set("started", now.UTC().String()).
			Set("vfs_path", u.Path).
			Set("_Components", u.Components).
			Set("file_size", u.Size).
			Set("uploaded_size", u.StoredSize).
			Set("Type", u.Type)
		b, err := output.MarshalJSON(row)
		if err != nil {
			return err
		}
		uploadRows.Write(append(b, '\n'))
	}

	// log.json as written.
	logData, err := os.ReadFile(filepath.Join(dir, "log.json"))
	if err != nil {
		return err
	}
	if err := zw.resultSet("log.json", logData); err != nil {
		return err
	}
	if len(c.Uploads) > 0 {
		if err := zw.resultSet("uploads.json", uploadRows.Bytes()); err != nil {
			return err
		}
	}

	for _, m := range []struct {
		name string
		v    interface{}
	}{
		{"collection_context.json", c.ContextJSON(uint64(len(c.Uploads)), totalBytes)},
		{"requests.json", c.RequestsJSON()},
		{"client_info.json", hostOrDefault(c.Host)},
	} {
		b, err := output.MarshalJSONIndent(m.v)
		if err != nil {
			return err
		}
		if err := zw.add(m.name, b, time.Time{}); err != nil {
			return err
		}
	}
	return zw.z.Close()
}

func hostOrDefault(d *ordereddict.Dict) *ordereddict.Dict {
	if d == nil {
		return HostInfo()
	}
	return d
}
