package evidence

import "errors"

var errIsDir = errors.New("is a directory")

// ErrWrongOS: an evidence path of the other OS's layout cannot be read
// from the running system without a root= (a Linux path on a Windows
// host). Callers that probe both layouts skip it silently (errors.Is).
var ErrWrongOS = errors.New("a Linux path on a Windows host needs root=")
