package builtins

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// UploadRequest describes one file upload() hands to the Uploader.
type UploadRequest struct {
	Path     string // the file= argument, as given
	Name     string // the name= argument ("" = Path)
	Accessor string // never empty ("auto" by default)
	Size     int64  // expected size (from stat)
	Mtime    time.Time
	Atime    time.Time
	Ctime    time.Time
	Btime    time.Time
	Mode     os.FileMode
}

// UploadResponse is Velociraptor's uploads.UploadResponse.
type UploadResponse struct {
	Path       string
	Size       uint64
	StoredSize uint64
	Error      string
	Sha256     string
	Md5        string
	StoredName string
	Reference  string
	Components []string
	Accessor   string
	ID         int64
	Type       string
}

// AsDict is the dict upload() returns, with Velociraptor's key order.
func (r *UploadResponse) AsDict() *ordereddict.Dict {
	res := ordereddict.NewDict().
		Set("Path", r.Path).
		Set("Size", r.Size).
		Set("UploadId", r.ID)
	if r.StoredSize > 0 {
		res.Set("StoredSize", r.StoredSize)
	}
	if r.Error != "" {
		res.Set("Error", r.Error)
	}
	if r.Sha256 != "" {
		res.Set("sha256", r.Sha256)
	}
	if r.Md5 != "" {
		res.Set("md5", r.Md5)
	}
	if r.StoredName != "" {
		res.Set("StoredName", r.StoredName)
	}
	if r.Reference != "" {
		res.Set("Reference", r.Reference)
	}
	if len(r.Components) > 0 {
		res.Set("Components", append([]string{}, r.Components...))
	}
	if r.Accessor != "" {
		res.Set("Accessor", r.Accessor)
	}
	if r.Type != "" {
		res.Set("Type", r.Type)
	}
	return res
}

// errorDict is how Velociraptor's upload() reports a failure: the
// UploadResponse struct encoded by its json tags (Path, Size, Error,
// UploadId).
func errorDict(err error) *ordereddict.Dict {
	return ordereddict.NewDict().
		Set("Path", "").
		Set("Size", uint64(0)).
		Set("Error", err.Error()).
		Set("UploadId", int64(0))
}

// Uploader stores the files upload() is asked for.
type Uploader interface {
	Upload(ctx context.Context, scope vfilter.Scope, req UploadRequest, r io.Reader) (*UploadResponse, error)
}

// DirUploader writes uploads below Dir as Velociraptor's collection
// container lays them out: Dir/uploads/<accessor>/<path components>,
// each component escaped as for a zip member (Velociraptor's
// SanitizeStringForZip). The response names the file as Velociraptor's
// container does (Path = the evidence path, StoredName =
// /uploads/<accessor>/..., Components), so it holds no host path. A
// file uploaded twice under the same name is stored once.
type DirUploader struct {
	Dir string

	mu   sync.Mutex
	done map[string]*UploadResponse
}

// Upload implements Uploader.
func (d *DirUploader) Upload(ctx context.Context, scope vfilter.Scope, req UploadRequest, r io.Reader) (*UploadResponse, error) {
	name := req.Name
	if name == "" {
		name = req.Path
	}
	accessor := req.Accessor
	if accessor == "" {
		accessor = "auto"
	}
	d.mu.Lock()
	if d.done == nil {
		d.done = map[string]*UploadResponse{}
	}
	if prev, ok := d.done[accessor+"\x00"+name]; ok {
		d.mu.Unlock()
		return prev, nil
	}
	d.mu.Unlock()

	components := append([]string{"uploads", accessor}, SplitComponents(name)...)
	stored := make([]string, len(components))
	for i, c := range components {
		stored[i] = SanitizeForZip(c)
	}
	result := &UploadResponse{
		Path:       req.Path,
		Size:       uint64(req.Size),
		StoredName: "/" + strings.Join(stored, "/"),
		Components: components,
	}
	target := filepath.Join(append([]string{d.Dir}, stored...)...)
	if req.Mode.IsDir() {
		if err := os.MkdirAll(target, 0o700); err != nil {
			return nil, err
		}
		result.StoredName += "/"
		d.remember(accessor, name, result)
		return result, nil
	}
	scope.Log("Collecting file %s into %s (%v bytes)", req.Path, result.StoredName, req.Size)
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	md, sh := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(f, md, sh), &ctxReader{ctx: ctx, r: r})
	cerr := f.Close()
	result.StoredSize = uint64(n)
	if err == nil {
		err = cerr
	}
	if err != nil {
		result.Error = err.Error()
		return result, err
	}
	if !req.Mtime.IsZero() {
		_ = os.Chtimes(target, req.Mtime, req.Mtime)
	}
	result.Sha256 = hex.EncodeToString(sh.Sum(nil))
	result.Md5 = hex.EncodeToString(md.Sum(nil))
	d.remember(accessor, name, result)
	return result, nil
}

func (d *DirUploader) remember(accessor, name string, r *UploadResponse) {
	d.mu.Lock()
	d.done[accessor+"\x00"+name] = r
	d.mu.Unlock()
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

const hexTable = "0123456789ABCDEF"

// SanitizeForZip escapes a path component as Velociraptor's
// utils.SanitizeStringForZip: ?"*:|<>%/\ , control characters and bytes
// that are not UTF-8 become %XX, as do a leading "." or " " and a
// trailing "." or " "; components are cut at 1024 bytes.
func SanitizeForZip(component string) string {
	var result []rune
	esc := func(c rune) { result = append(result, '%', rune(hexTable[c>>4&15]), rune(hexTable[c&15])) }
	for pos, char := range component {
		if pos == 0 && (char == '.' || char == ' ') {
			esc(char)
			continue
		}
		if char == utf8.RuneError {
			esc(rune(component[pos]))
			continue
		}
		switch char {
		case '?', '"', '*', ':', '|', '<', '>', '%', '/', '\\':
			esc(char)
		default:
			if char < 0x20 || char == 0x7f {
				esc(char)
			} else {
				result = append(result, char)
			}
		}
		if pos > 1024 {
			break
		}
	}
	if n := len(result); n > 0 && (result[n-1] == '.' || result[n-1] == ' ') {
		suffix := result[n-1]
		result = result[:n-1]
		esc(suffix)
	}
	return string(result)
}

// UploadFunctionArgs are Velociraptor's upload() arguments.
type UploadFunctionArgs struct {
	File     string      `vfilter:"required,field=file,doc=The file to upload"`
	Name     string      `vfilter:"optional,field=name,doc=The name of the file that should be stored on the server"`
	Accessor string      `vfilter:"optional,field=accessor,doc=The accessor to use"`
	Mtime    vfilter.Any `vfilter:"optional,field=mtime,doc=Modified time to record"`
	Atime    vfilter.Any `vfilter:"optional,field=atime,doc=Access time to record"`
	Ctime    vfilter.Any `vfilter:"optional,field=ctime,doc=Change time to record"`
	Btime    vfilter.Any `vfilter:"optional,field=btime,doc=Birth time to record"`
}

// UploadFunction is upload(). With no uploader configured it logs
// "upload: Uploader not configured." and returns NULL, as Velociraptor.
type UploadFunction struct{}

func (UploadFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	uploader, ok := GetUploader(scope)
	if !ok {
		scope.Log("upload: Uploader not configured.")
		return vfilter.Null{}
	}
	arg := &UploadFunctionArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "upload", arg) {
		return vfilter.Null{}
	}
	if arg.File == "" {
		return vfilter.Null{}
	}
	accessor := arg.Accessor
	if accessor == "" {
		accessor = "auto"
	}
	acc, err := evidence.Get(scope, accessor)
	if err != nil {
		scope.Log("upload: %v", err)
		return errorDict(err)
	}
	fd, err := acc.Open(arg.File)
	if err != nil {
		scope.Log("upload: Unable to open %s: %s", arg.File, err.Error())
		return errorDict(err)
	}
	defer fd.Close()
	st, err := acc.Lstat(arg.File)
	if err != nil {
		scope.Log("upload: Unable to stat %s: %v", arg.File, err)
		return vfilter.Null{}
	}
	mtime, err := timeFromAny(ctx, scope, arg.Mtime)
	if err != nil {
		mtime = velociraptorTimes(st).Mtime
	}
	atime, _ := timeFromAny(ctx, scope, arg.Atime)
	ctime, _ := timeFromAny(ctx, scope, arg.Ctime)
	btime, _ := timeFromAny(ctx, scope, arg.Btime)
	resp, err := uploader.Upload(ctx, scope, UploadRequest{
		Path: arg.File, Name: arg.Name, Accessor: accessor, Size: st.Size,
		Mtime: mtime, Atime: atime, Ctime: ctime, Btime: btime, Mode: st.Mode,
	}, fd)
	if err != nil {
		return errorDict(err)
	}
	return resp.AsDict()
}

func (UploadFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name: "upload",
		Doc: "Upload a file to the upload service. For a Velociraptor " +
			"client this will upload the file into the flow and store " +
			"it in the server's file store.",
		ArgType: typeMap.AddType(scope, &UploadFunctionArgs{}),
	}
}
