module github.com/azvql/azvql

go 1.24

require (
	github.com/Velocidex/go-ewf v0.0.0-20240210123447-97dc81b7d8c3
	github.com/Velocidex/go-ext4 v0.0.0-20250510085914-b0b955af0359
	github.com/Velocidex/go-vhdx v0.0.0-20250511013458-5cba970cdeda
	github.com/Velocidex/go-vmdk v0.0.0-20250505140221-bd4633ce2fbf
	github.com/Velocidex/json v0.0.0-20220224052537-92f3c0326e5a
	github.com/Velocidex/ordereddict v0.0.0-20250821063524-02dc06e46238
	github.com/Velocidex/yaml/v2 v2.2.8
	github.com/alecthomas/kingpin/v2 v2.4.0
	github.com/araddon/dateparse v0.0.0-20210429162001-6b43995a97de
	github.com/klauspost/compress v1.18.0
	github.com/ulikunitz/xz v0.5.15
	golang.org/x/sys v0.33.0
	golang.org/x/text v0.21.0
	gopkg.in/yaml.v3 v3.0.1
	software.sslmate.com/src/go-pkcs12 v0.2.0
	www.velocidex.com/golang/evtx v0.2.1-0.20250630041705-f4fa97e6f7fb
	www.velocidex.com/golang/go-ntfs v0.2.1-0.20250322152626-3c09d909d740
	www.velocidex.com/golang/vfilter v0.0.0-20250915140904-eb07b966bcef
)

require (
	github.com/Velocidex/pkcs7 v0.0.0-20230220112103-d4ed02e1862a // indirect
	github.com/alecthomas/participle v0.7.1 // indirect
	github.com/alecthomas/repr v0.3.0 // indirect
	github.com/alecthomas/units v0.0.0-20211218093645-b94a6e3cc137 // indirect
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/xhit/go-str2duration/v2 v2.1.0 // indirect
	golang.org/x/crypto v0.0.0-20220331220935-ae2d96664a29 // indirect
	www.velocidex.com/golang/binparsergen v0.1.1-0.20240404114946-8f66c7cf586e // indirect
	www.velocidex.com/golang/go-pe v0.1.1-0.20250101153735-7a925ba8334b // indirect
)
