package handlerlog

import "log"

type sliceWriter struct{ out *[]string }

func (w sliceWriter) Write(b []byte) (int, error) {
	*w.out = append(*w.out, string(b))
	return len(b), nil
}

func newLogger(out *[]string) *log.Logger { return log.New(sliceWriter{out}, "", 0) }
