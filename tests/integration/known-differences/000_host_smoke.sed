# now() under Velociraptor v0.75.2 is the wall clock (vql/functions/functions.go
# _Now.Call returns time.Now().Unix(); the golden runner's mocked clock does not
# reach it). The vql host freezes it at 2020-05-31T15:28:05Z. See README.md.
s/^(  "Now": )[0-9]+,$/\11590938885,/
s/^(  "NowTime": )"[0-9T:.Z-]+",$/\1"2020-05-31T15:28:05Z",/
