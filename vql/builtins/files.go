package builtins

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// StatArgs are Velociraptor's stat() arguments.
type StatArgs struct {
	Filename string `vfilter:"required,field=filename,doc=One or more files to open."`
	Accessor string `vfilter:"optional,field=accessor,doc=An accessor to use."`
}

// StatPlugin is the stat() plugin: one row (glob's columns without
// Globs) or none when the file is absent.
type StatPlugin struct{}

func (StatPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &StatArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "stat", arg) {
			return
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("stat: %s", err.Error())
			return
		}
		fi, err := acc.Lstat(arg.Filename)
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case out <- fileInfoRow(fi, nil):
		}
	}()
	return out
}

func (StatPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "stat",
		Doc:     "Get file information. Unlike glob() this does not support wildcards.",
		ArgType: typeMap.AddType(scope, &StatArgs{}),
		Version: 2,
	}
}

// StatFunction is the stat() function: the row, or NULL.
type StatFunction struct{}

func (StatFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &StatArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "stat", arg) {
		return vfilter.Null{}
	}
	acc, err := evidence.Get(scope, arg.Accessor)
	if err != nil {
		scope.Log("stat: %s", err.Error())
		return vfilter.Null{}
	}
	fi, err := acc.Lstat(arg.Filename)
	if err != nil {
		return vfilter.Null{}
	}
	return fileInfoRow(fi, nil)
}

func (StatFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "stat",
		Doc:     "Get file information. Unlike glob() this does not support wildcards.",
		ArgType: typeMap.AddType(scope, &StatArgs{}),
	}
}

// ReadFileArgs are Velociraptor's read_file() plugin arguments.
type ReadFileArgs struct {
	Chunk     int      `vfilter:"optional,field=chunk,doc=length of each chunk to read from the file."`
	MaxLength int      `vfilter:"optional,field=max_length,doc=Max length of the file to read."`
	Filenames []string `vfilter:"required,field=filenames,doc=One or more files to open."`
	Accessor  string   `vfilter:"optional,field=accessor,doc=An accessor to use."`
}

// ReadFilePlugin is the read_file() plugin: rows of Data, Offset,
// Filename, one per chunk (4 MiB by default).
type ReadFilePlugin struct{}

func (ReadFilePlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &ReadFileArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "read_file", arg) {
			return
		}
		if arg.Chunk <= 0 {
			arg.Chunk = 4 * 1024 * 1024
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("read_file: %v", err)
			return
		}
		for _, name := range arg.Filenames {
			if !readFileChunks(ctx, scope, acc, name, arg, out) {
				return
			}
		}
	}()
	return out
}

func readFileChunks(ctx context.Context, scope vfilter.Scope, acc evidence.Accessor,
	name string, arg *ReadFileArgs, out chan<- vfilter.Row) bool {
	fd, err := acc.Open(name)
	if err != nil {
		return true
	}
	defer fd.Close()
	buf := make([]byte, arg.Chunk)
	total := int64(0)
	for {
		n, err := io.ReadAtLeast(fd, buf, arg.Chunk)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			scope.Log("read_file: %v", err)
			return true
		}
		if n == 0 {
			return true
		}
		row := ordereddict.NewDict().
			Set("Data", string(buf[:n])).
			Set("Offset", total).
			Set("Filename", name)
		select {
		case <-ctx.Done():
			return false
		case out <- row:
		}
		total += int64(n)
		if arg.MaxLength > 0 && total > int64(arg.MaxLength) {
			return true
		}
	}
}

func (ReadFilePlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "read_file",
		Doc:     "Read files in chunks.",
		ArgType: typeMap.AddType(scope, &ReadFileArgs{}),
	}
}

// ReadFileFunctionArgs are Velociraptor's read_file() function arguments.
type ReadFileFunctionArgs struct {
	Length   int    `vfilter:"optional,field=length,doc=Max length of the file to read."`
	Offset   int64  `vfilter:"optional,field=offset,doc=Where to read from the file."`
	Filename string `vfilter:"required,field=filename,doc=One or more files to open."`
	Accessor string `vfilter:"optional,field=accessor,doc=An accessor to use."`
}

// ReadFileFunction is the read_file() function: up to length bytes
// (4 MiB by default) as a string; "" when the file cannot be read.
type ReadFileFunction struct{}

func (ReadFileFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &ReadFileFunctionArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "read_file", arg) {
		return ""
	}
	if arg.Length <= 0 {
		arg.Length = 4 * 1024 * 1024
	}
	acc, err := evidence.Get(scope, arg.Accessor)
	if err != nil {
		scope.Log("read_file: %v", err)
		return ""
	}
	fd, err := acc.Open(arg.Filename)
	if err != nil {
		scope.Log("read_file: %v: %v", arg.Filename, err)
		return ""
	}
	defer fd.Close()
	if arg.Offset > 0 {
		if s, ok := fd.(io.Seeker); ok {
			_, _ = s.Seek(arg.Offset, io.SeekStart)
		} else {
			_, _ = io.CopyN(io.Discard, fd, arg.Offset)
		}
	}
	buf := make([]byte, arg.Length)
	n, err := io.ReadAtLeast(fd, buf, len(buf))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		scope.Log("read_file: %v", err)
		return ""
	}
	return string(buf[:n])
}

func (ReadFileFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "read_file",
		Doc:     "Read a file into a string.",
		ArgType: typeMap.AddType(scope, &ReadFileFunctionArgs{}),
	}
}

// HashFunctionArgs are Velociraptor's hash() arguments.
type HashFunctionArgs struct {
	Path       string   `vfilter:"required,field=path,doc=Path to open and hash."`
	Accessor   string   `vfilter:"optional,field=accessor,doc=The accessor to use"`
	HashSelect []string `vfilter:"optional,field=hashselect,doc=The hash function to use (MD5,SHA1,SHA256)"`
}

// HashFunction is hash(): a dict of MD5, SHA1, SHA256 (hex; "" for the
// ones not selected), NULL when the file cannot be opened.
type HashFunction struct{}

func (HashFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &HashFunctionArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "hash", arg) {
		return vfilter.Null{}
	}
	acc, err := evidence.Get(scope, arg.Accessor)
	if err != nil {
		scope.Log("hash: %v", err)
		return vfilter.Null{}
	}
	fd, err := acc.Open(arg.Path)
	if err != nil {
		return vfilter.Null{}
	}
	defer fd.Close()

	type h struct {
		name string
		w    interface {
			io.Writer
			Sum([]byte) []byte
		}
	}
	var md, s1, s256 *h
	if arg.HashSelect == nil {
		md, s1, s256 = &h{w: md5.New()}, &h{w: sha1.New()}, &h{w: sha256.New()}
	} else {
		for _, opt := range arg.HashSelect {
			switch opt {
			case "sha256", "SHA256":
				s256 = &h{w: sha256.New()}
			case "sha1", "SHA1":
				s1 = &h{w: sha1.New()}
			case "md5", "MD5":
				md = &h{w: md5.New()}
			default:
				scope.Log("hashselect option %s not recognized (should be md5, sha1, sha256)", opt)
				return vfilter.Null{}
			}
		}
	}
	buf := make([]byte, 64*1024)
	for {
		select {
		case <-ctx.Done():
			return vfilter.Null{}
		default:
		}
		n, err := fd.Read(buf)
		for _, x := range []*h{md, s1, s256} {
			if x != nil && n > 0 {
				x.w.Write(buf[:n])
			}
		}
		if err == io.EOF || (n == 0 && err == nil) {
			break
		}
		if err != nil {
			scope.Log("hash: %v", err)
			return vfilter.Null{}
		}
		scope.ChargeOp()
	}
	sum := func(x *h) string {
		if x == nil {
			return ""
		}
		return fmt.Sprintf("%x", x.w.Sum(nil))
	}
	return ordereddict.NewDict().
		Set("MD5", sum(md)).
		Set("SHA1", sum(s1)).
		Set("SHA256", sum(s256))
}

func (HashFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "hash",
		Doc:     "Calculate the hash of a file.",
		ArgType: typeMap.AddType(scope, &HashFunctionArgs{}),
		Version: 2,
	}
}
