module github.com/azvql/azvql/tools/velociraptor

go 1.24.7

require (
	www.velocidex.com/golang/velociraptor v0.75.2
	www.velocidex.com/golang/vfilter v0.0.0-20250915140904-eb07b966bcef
)
