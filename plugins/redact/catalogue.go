package redact

import (
	"regexp"
	"strings"
)

// A rule is one form of secret as people type or tools print it. The
// catalogue is the single list of what redaction covers: String applies
// it, the gate (MayHoldSecret) is derived from it, and every rule carries
// the samples its test checks (input -> exact redacted output).
type rule struct {
	name string
	// need lists the literal words (lower-case ASCII) a match cannot be
	// without: the rule runs when every word of one set is in the text
	// (compared ASCII case-folded). The gate is built from these sets, so a
	// rule whose regexp can match without one of its words is a bug that
	// TestGateCoversCatalogue and FuzzRedactGate catch.
	need [][]string
	// re's group 1 is kept, group 2 is the secret, group 3 (if any) is
	// kept. A quoted secret keeps its quotes.
	re *regexp.Regexp
	// keep, when set, says a match is not a secret after all.
	keep func(sub []string) bool
	// fn replaces re for rules that are not one regexp.
	fn      func(string) string
	samples [][2]string
}

// Value shapes shared by the command-line rules.
const (
	// a shell word: quoted, or up to whitespace or a quote
	word = `("[^"]*"|'[^']*'|[^\s"']+)`
	// the rest of one command (not past a pipe, ; or &, or a new line)
	sameCmd = `(?:[^|;&\n]*?\s)?`
)

// secretNames are key names whose value is a secret, in settings
// (structured keys), environment assignments (DB_PASSWORD=), connection
// strings (Password=, Pwd=, AccountKey=, SharedAccessKey=) and JSON text.
// A name ends in the secret word: DB_PASSWORD and clientSecret are
// secrets, PasswordLength and SharedAccessKeyName are not. pass and pwd
// count only as a whole name or after "_" (bypass, OLDPWD are not).
const secretNames = `[A-Za-z0-9_.\-]*(?:password|passwd|passphrase|secret|token|accountkey|account_key|accesskey|access_key|apikey|api_key|storagekey|storage_key|subscriptionkey)|(?:[A-Za-z0-9]+_)*(?:pass|pwd|sshpass)`

var secretNameRe = regexp.MustCompile(`(?i)^(?:` + secretNames + `)$`)

// keyWords are the need sets of the key-name rules (one literal each
// name above must contain).
var keyWords = [][]string{{"pass"}, {"pwd"}, {"secret"}, {"token"}, {"accountkey"}, {"account_key"},
	{"accesskey"}, {"access_key"}, {"apikey"}, {"api_key"}, {"storagekey"}, {"storage_key"}, {"subscriptionkey"}}

// cwdValue: PWD=/home/bob is the working directory, not a password.
func cwdValue(sub []string) bool {
	name := strings.ToLower(lastName(strings.TrimRight(sub[1], "\\\"'=: \t")))
	return (name == "pwd" || strings.HasSuffix(name, "_pwd")) && strings.HasPrefix(strings.Trim(sub[2], `"'\`), "/")
}

// lastName is the trailing run of name bytes ([A-Za-z0-9_.-]) of s.
func lastName(s string) string {
	i := len(s)
	for i > 0 {
		c := s[i-1]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			break
		}
		i--
	}
	return s[i:]
}

// sudoersTag: "ALL=(ALL) NOPASSWD:ALL" is a sudoers tag, not a secret.
func sudoersTag(sub []string) bool {
	n := strings.ToLower(lastName(strings.TrimRight(sub[1], ": \t")))
	return n == "nopasswd" || n == "passwd"
}

// sasName: a SAS token (sasToken, --sas-token) keeps its shape (start,
// expiry, permissions are evidence); its secret, sig=, is redacted by the
// SAS rule.
func sasName(prefix string) bool {
	n := strings.ToLower(lastName(strings.TrimRight(prefix, "\\\"'=: \t")))
	return strings.HasSuffix(n, "sastoken") || strings.HasSuffix(n, "sas_token") || strings.HasSuffix(n, "sas-token")
}

// nextOption: "--password -h" has no value; -h is the next option.
func nextOption(sub []string) bool {
	return strings.HasPrefix(sub[2], "-") && !strings.HasSuffix(sub[1], "=") ||
		strings.HasPrefix(strings.ToLower(strings.TrimLeft(sub[1], " \t\"'(")), "--no-")
}

var catalogue = []*rule{
	{name: "PEM private key block", need: [][]string{{"private key"}},
		re: regexp.MustCompile(`(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\s*)([\s\S]*?)(\s*-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)`),
		samples: [][2]string{
			{"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nq0Zx==\n-----END RSA PRIVATE KEY-----\nok",
				"-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\nok"},
			{"key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "key: -----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]"},
		}},
	{name: "SAS signature (sig=, sig%3D)", need: [][]string{{"sig="}, {"sig%3d"}}, fn: redactSig,
		samples: [][2]string{
			{"https://a.blob.core.windows.net/c/x.sh?sv=2021-08-06&sr=b&sp=r&sig=AbC%2Bdef%3D", "https://a.blob.core.windows.net/c/x.sh?sv=2021-08-06&sr=b&sp=r&sig=[REDACTED]"},
			{"https://x/y?target=https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3DAbC%252B%26sp%3Dr", "https://x/y?target=https%3A%2F%2Fa%2Fc%3Fsv%3D1%26sig%3D[REDACTED]%26sp%3Dr"},
		}},
	{name: "password in a URL (scheme://user:SECRET@host)", need: [][]string{{"://", "@"}},
		re: regexp.MustCompile(`(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:"'<>]*:)([^\s/?#"'<>]+)(@)`),
		samples: [][2]string{
			{`psql "postgresql://app:S3cr3t!@db.internal:5432/prod"`, `psql "postgresql://app:[REDACTED]@db.internal:5432/prod"`},
			{"git clone https://deploy:ghp_abc123@github.com/o/r.git", "git clone https://deploy:[REDACTED]@github.com/o/r.git"},
			{"mongodb+srv://root:p@ss@cluster0.x.net/db", "mongodb+srv://root:[REDACTED]@cluster0.x.net/db"},
			{"redis://:hunter2@10.0.0.4:6379", "redis://:[REDACTED]@10.0.0.4:6379"},
		}},
	{name: "Authorization header (Bearer, Basic, ...)", need: [][]string{{"authorization"}},
		re: regexp.MustCompile(`(?i)(\bAuthorization\\*"?\s*[:=]\s*\\*"?(?:(?:Bearer|Basic|Digest|Negotiate|NTLM|Token|SharedKey|SharedAccessSignature)\s+)?)([^\s"'\\,;(){}$@][^\s"'\\,;]*)`),
		samples: [][2]string{
			{`curl -H "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIx.c2ln" https://x`, `curl -H "Authorization: Bearer [REDACTED]" https://x`},
			{"Authorization: Basic YWRtaW46aHVudGVyMg==", "Authorization: Basic [REDACTED]"},
		}},
	{name: "Bearer token", need: [][]string{{"bearer"}},
		re: regexp.MustCompile(`(?i)(\bBearer\s+)([A-Za-z0-9\-._~+/]{16,}=*)`),
		samples: [][2]string{
			{`Invoke-RestMethod -Headers @{Authorization=("Bearer " + $t)}; $h="Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi"`, `Invoke-RestMethod -Headers @{Authorization=("Bearer " + $t)}; $h="Bearer [REDACTED]"`},
		}},
	{name: "API key header (x-api-key:, api-key:, x-functions-key:, Ocp-Apim-Subscription-Key:)", need: [][]string{{"-key"}, {"-token"}},
		re: regexp.MustCompile(`(?i)(\b(?:x-api-key|api-key|x-functions-key|ocp-apim-subscription-key|x-auth-token)\s*:\s*)([^\s"',;]+)`),
		samples: [][2]string{
			{`curl -H 'x-functions-key: q0Zx12==' https://f.azurewebsites.net/api/x`, `curl -H 'x-functions-key: [REDACTED]' https://f.azurewebsites.net/api/x`},
		}},
	{name: "secret key=value (env assignment, connection string, JSON, status output)", need: keyWords,
		re:   regexp.MustCompile(`(?i)((?:^|[^A-Za-z0-9_.\-])(?:` + secretNames + `)(?:\s*=\s*|\\*"\s*:\s*))("(?:[^"\\]|\\.)*"|'[^']*'|\\+"(?:[^"\\]|\\[^"])*\\+"|[^"'\\\s,;&}]+)`),
		keep: func(sub []string) bool { return cwdValue(sub) || sasName(sub[1]) },
		samples: [][2]string{
			{"PASSWORD=Summer2024! ./deploy.sh", "PASSWORD=[REDACTED] ./deploy.sh"},
			{"export MYSQL_ROOT_PASSWORD='p w'; export GITHUB_TOKEN=ghp_x1; AZURE_CLIENT_SECRET=abc~1", "export MYSQL_ROOT_PASSWORD='[REDACTED]'; export GITHUB_TOKEN=[REDACTED]; AZURE_CLIENT_SECRET=[REDACTED]"},
			{"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG MYSQL_PWD=x1 SSHPASS=y2", "AWS_SECRET_ACCESS_KEY=[REDACTED] MYSQL_PWD=[REDACTED] SSHPASS=[REDACTED]"},
			{"Server=tcp:db,1433;User ID=sa;Password=P@ss;Pwd=x;", "Server=tcp:db,1433;User ID=sa;Password=[REDACTED];Pwd=[REDACTED];"},
			{"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk9PQ==;EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"},
			{"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Zm9vYmFy=", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=[REDACTED]"},
			{"db connected, password=hunter2 user=app", "db connected, password=[REDACTED] user=app"},
			{`{"runAsPassword":"p w","clientSecret": "s1","storageAccountKey":"k=="}`, `{"runAsPassword":"[REDACTED]","clientSecret": "[REDACTED]","storageAccountKey":"[REDACTED]"}`},
			{`{"sasToken":"?sv=2022-11-02&sr=b&sig=Zm9v%3D","accessToken":"eyJ0"}`, `{"sasToken":"?sv=2022-11-02&sr=b&sig=[REDACTED]","accessToken":"[REDACTED]"}`},
			{`{\"adminPassword\":\"P@ss word\",\"user\":\"bob\"}`, `{\"adminPassword\":\"[REDACTED]\",\"user\":\"bob\"}`},
			{"mount -t cifs //srv/s /mnt -o username=bob,password=Pa55,uid=0", "mount -t cifs //srv/s /mnt -o username=bob,password=[REDACTED],uid=0"},
		}},
	{name: "secret key: value (password:, secret:, accountKey: in text)", need: [][]string{{"passw"}, {"secret"}, {"accountkey"}},
		re:   regexp.MustCompile(`(?i)((?:^|[^A-Za-z0-9_.\-])[A-Za-z0-9_.\-]*(?:password|passwd|secret|accountkey)[ \t]*:[ \t]*)([^\s"',;]+)`),
		keep: sudoersTag,
		samples: [][2]string{
			{"db:\n  user: app\n  password: Winter#7\n", "db:\n  user: app\n  password: [REDACTED]\n"},
		}},
	{name: "protectedParameters values in JSON text", need: [][]string{{"protectedparameters"}}, fn: protectedParamsText,
		samples: [][2]string{
			{`"protectedParameters":[{"name":"TOKEN","value":"abc"},{"name":"B","value":"d e"}],"x":1`, `"protectedParameters":[{"name":"TOKEN","value":"[REDACTED]"},{"name":"B","value":"[REDACTED]"}],"x":1`},
		}},
	{name: "--password / --*-password / --secret / --token / --account-key / --sas-token flags", need: [][]string{{"--", "pass"}, {"--", "secret"}, {"--", "token"}, {"--", "-key"}},
		re:   regexp.MustCompile(`(?i)(--[A-Za-z0-9\-]*?(?:password|passwd|passphrase|secret|token|account-key|api-key|access-key)(?:\s+|=))` + word),
		keep: func(sub []string) bool { return nextOption(sub) || sasName(sub[1]) },
		samples: [][2]string{
			{"mysql -u root --password=S3cret db", "mysql -u root --password=[REDACTED] db"},
			{"wget --user=bob --password hunter2 --http-password='x y' ftp://h/f", "wget --user=bob --password [REDACTED] --http-password='[REDACTED]' ftp://h/f"},
			{"az storage blob upload --account-name a --account-key 'abc==' --sas-token \"?sv=1&sig=x%3D\"", "az storage blob upload --account-name a --account-key '[REDACTED]' --sas-token \"?sv=1&sig=[REDACTED]\""},
		}},
	{name: "MySQL/MariaDB client -pSECRET", need: [][]string{{"mysql"}, {"mariadb"}},
		re: regexp.MustCompile(`((?i:\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlsh|mariadb|mariadb-dump|mariadb-admin))(?:\.exe)?\s` + sameCmd + `-p)` + word),
		samples: [][2]string{
			{"mysql -h db -P 3306 -uroot -pS3cret! prod -e 'select 1'", "mysql -h db -P 3306 -uroot -p[REDACTED] prod -e 'select 1'"},
			{"mysqldump -u root -p'x y' --all-databases > d.sql", "mysqldump -u root -p'[REDACTED]' --all-databases > d.sql"},
		}},
	{name: "sshpass -p SECRET", need: [][]string{{"sshpass"}},
		re: regexp.MustCompile(`(\bsshpass(?:\s+-(?:[fdP]\s*[^\s\-]\S*|[ev]))*\s+-p\s*)` + word),
		samples: [][2]string{
			{"sshpass -p 'Tr0ub4dor' ssh -o StrictHostKeyChecking=no root@10.0.0.5 -p 2222", "sshpass -p '[REDACTED]' ssh -o StrictHostKeyChecking=no root@10.0.0.5 -p 2222"},
			{"sshpass -pHunter2 scp x u@h:", "sshpass -p[REDACTED] scp x u@h:"},
		}},
	{name: "curl -u / --user / --proxy-user user:SECRET", need: [][]string{{"curl"}},
		re: regexp.MustCompile(`(\bcurl(?:\.exe)?\s` + sameCmd + `(?:-u|-U|--user|--proxy-user)(?:\s+|=)?["']?[^\s:"']*:)([^\s"']+)`),
		samples: [][2]string{
			{"curl -s -u admin:S3cret https://jenkins/api", "curl -s -u admin:[REDACTED] https://jenkins/api"},
			{`curl --user "bob:p@ss" -X POST http://x`, `curl --user "bob:[REDACTED]" -X POST http://x`},
		}},
	{name: "-p SECRET of az login, docker/podman/helm login, psexec", need: [][]string{{"login"}, {"psexec"}},
		re:   regexp.MustCompile(`((?i:\b(?:(?:az|docker|podman|nerdctl|helm|oras)(?:\.exe|\.cmd)?(?:\s+(?:acr|registry))?\s+login|psexec(?:64)?(?:\.exe)?))\s` + sameCmd + `-p\s+)` + word),
		keep: nextOption,
		samples: [][2]string{
			{"az login --service-principal -u 1111 -p Xy7~secret --tenant t", "az login --service-principal -u 1111 -p [REDACTED] --tenant t"},
			{`docker login -u bot -p "dckr_pat_1" registry.io`, `docker login -u bot -p "[REDACTED]" registry.io`},
			{`PsExec64.exe \\10.0.0.7 -u CORP\adm -p Adm1n! cmd`, `PsExec64.exe \\10.0.0.7 -u CORP\adm -p [REDACTED] cmd`},
		}},
	{name: "sqlcmd / osql / bcp -P SECRET", need: [][]string{{"sqlcmd"}, {"osql"}, {"bcp"}},
		re: regexp.MustCompile(`((?i:\b(?:sqlcmd|osql|bcp))(?:\.exe)?\s` + sameCmd + `-P\s*)` + word),
		samples: [][2]string{
			{"sqlcmd -S db -U sa -P Str0ng! -Q \"select 1\"", "sqlcmd -S db -U sa -P [REDACTED] -Q \"select 1\""},
		}},
	{name: "ldapsearch/ldapmodify -w SECRET", need: [][]string{{"ldap"}},
		re: regexp.MustCompile(`(\bldap\w*\s` + sameCmd + `-w\s*)` + word),
		samples: [][2]string{
			{"ldapsearch -x -D cn=admin,dc=x -w 'S3cret' -b dc=x", "ldapsearch -x -D cn=admin,dc=x -w '[REDACTED]' -b dc=x"},
		}},
	{name: "smbclient/rpcclient -U user%SECRET", need: [][]string{{"-u", "%"}},
		re: regexp.MustCompile(`(\b(?:smbclient|rpcclient|smbmap|smbget|winexe|net\s+rpc)\b` + sameCmd + `-U\s*["']?[^\s%"']*%)([^\s"']+)`),
		samples: [][2]string{
			{`smbclient //10.0.0.9/c$ -U 'CORP\adm%Pa55w0rd'`, `smbclient //10.0.0.9/c$ -U 'CORP\adm%[REDACTED]'`},
		}},
	{name: "impacket target domain/user:SECRET@host", need: [][]string{{"exec.py"}, {"secretsdump.py"}, {"getuserspns.py"}, {"getnpusers.py"}, {"mssqlclient.py"}, {"smbclient.py"}},
		re: regexp.MustCompile(`((?i:\b(?:psexec|wmiexec|smbexec|atexec|dcomexec|secretsdump|GetUserSPNs|GetNPUsers|mssqlclient|smbclient)\.py)\s` + sameCmd + `[\w.\-]+/[\w.$\-]+:)([^\s/"']+)(@[\w.\-]+)`),
		samples: [][2]string{
			{"python3 wmiexec.py CORP/admin:P@ssw0rd@10.0.0.5 whoami", "python3 wmiexec.py CORP/admin:[REDACTED]@10.0.0.5 whoami"},
		}},
	{name: "openssl -pass/-passin/-passout pass:SECRET", need: [][]string{{"pass:"}},
		re: regexp.MustCompile(`(?i)(-pass(?:in|out)?\s+pass:)` + word),
		samples: [][2]string{
			{"openssl pkcs12 -export -in c.pem -out c.pfx -passout pass:Expo7t", "openssl pkcs12 -export -in c.pem -out c.pfx -passout pass:[REDACTED]"},
		}},
	{name: "cmdkey /pass:, net use /password:, schtasks /rp, xfreerdp /p:", need: [][]string{{"/pass"}, {"/rp"}, {"/p:"}},
		re: regexp.MustCompile(`(?i)((?:^|[\s"'(])/(?:pass|password|rp|p)(?::|\s+))("[^"]*"|'[^']*'|[^\s"';]+)`),
		samples: [][2]string{
			{"cmdkey /generic:10.0.5.20 /user:CORP\\backup /pass:Wint3r!Backup#7; robocopy", "cmdkey /generic:10.0.5.20 /user:CORP\\backup /pass:[REDACTED]; robocopy"},
			{"schtasks /create /ru admin /rp hunter2 /tn x", "schtasks /create /ru admin /rp [REDACTED] /tn x"},
			{"xfreerdp /v:10.0.0.4 /u:adm /p:Rdp!2024", "xfreerdp /v:10.0.0.4 /u:adm /p:[REDACTED]"},
		}},
	{name: "net user NAME SECRET", need: [][]string{{"net", "use"}},
		re: regexp.MustCompile(`(?i)(\bnet(?:\.exe)?\s+user\s+(?:"[^"]*"|\S+)\s+)("[^"]*"|'[^']*'|[^\s/"'*][^\s"']*)`),
		samples: [][2]string{
			{"net user backdoor Passw0rd! /add", "net user backdoor [REDACTED] /add"},
			{`net.exe user "svc x" 'P w' /add /domain`, `net.exe user "svc x" '[REDACTED]' /add /domain`},
		}},
	{name: "net use \\\\host\\share SECRET", need: [][]string{{"net", "use"}},
		re: regexp.MustCompile(`(?i)(\bnet(?:\.exe)?\s+use\s+(?:[A-Z]:\s+|\*\s+)?\\\\\S+\s+)("[^"]*"|'[^']*'|[^\s/"'*][^\s"']*)`),
		samples: [][2]string{
			{`net use Z: \\10.0.0.9\c$ Adm1n! /user:CORP\adm`, `net use Z: \\10.0.0.9\c$ [REDACTED] /user:CORP\adm`},
		}},
	{name: "'SECRET' | ConvertTo-SecureString", need: [][]string{{"securestring"}},
		re: regexp.MustCompile(`()("[^"]*"|'[^']*')(\s*\|\s*(?i:ConvertTo-SecureString))`),
		samples: [][2]string{
			{`$p = 'P@ss' | ConvertTo-SecureString -AsPlainText -Force`, `$p = '[REDACTED]' | ConvertTo-SecureString -AsPlainText -Force`},
		}},
	{name: "ConvertTo-SecureString 'SECRET' -AsPlainText", need: [][]string{{"securestring"}},
		re: regexp.MustCompile(`(?i)(ConvertTo-SecureString(?:\s+-(?:AsPlainText|Force|String)\b(?::\$true)?)*\s+)("[^"]*"|'[^']*'|[^\s"'\-|()][^\s"'()]*)`),
		samples: [][2]string{
			{`$p = ConvertTo-SecureString 'P@ss' -AsPlainText -Force`, `$p = ConvertTo-SecureString '[REDACTED]' -AsPlainText -Force`},
			{`ConvertTo-SecureString -AsPlainText -Force -String "x y"`, `ConvertTo-SecureString -AsPlainText -Force -String "[REDACTED]"`},
		}},
	{name: "PowerShell -Password / -*Password / -Pwd / -Secret / -Passphrase / -*Token X", need: [][]string{{"pass"}, {"pwd"}, {"secret"}, {"token"}},
		re:   regexp.MustCompile(`(?i)((?:^|[\s"'(])-(?:\w*Password|Pwd|\w*Secret|Passphrase|\w*Token)(?::|\s+))("[^"]*"|'[^']*'|[^\s"';)(]+)`),
		keep: nextOption,
		samples: [][2]string{
			{`.\setup.ps1 -AdminPassword 'S3cret!' -User bob`, `.\setup.ps1 -AdminPassword '[REDACTED]' -User bob`},
			{"Connect-AzAccount -AccessToken eyJ0eXAi -AccountId a@b", "Connect-AzAccount -AccessToken [REDACTED] -AccountId a@b"},
			{"New-LocalUser -Name x -Password $pw", "New-LocalUser -Name x -Password [REDACTED]"},
		}},
	{name: "echo SECRET | sudo -S / passwd", need: [][]string{{"|", "sudo"}, {"|", "passwd"}},
		re: regexp.MustCompile(`(?i)(\becho\s+(?:-[neE]+\s+)?)("[^"]*"|'[^']*'|[^\s|'"]+)(\s*\|\s*(?:sudo\s+-S|(?:sudo\s+)?passwd\b))`),
		samples: [][2]string{
			{`time=x message="RunAs cmd is echo S3cret! | sudo -S -u bob /home/bob/script.sh"`, `time=x message="RunAs cmd is echo [REDACTED] | sudo -S -u bob /home/bob/script.sh"`},
			{`echo -e "Pw1\nPw1" | passwd bob`, `echo -e "[REDACTED]" | passwd bob`},
		}},
	{name: "echo user:SECRET | chpasswd", need: [][]string{{"|", "chpasswd"}},
		re: regexp.MustCompile(`(?i)(\becho\s+(?:-[neE]+\s+)?["']?[^\s:"'|]+:)([^\s"'|]+)(["']?\s*\|\s*(?:sudo\s+)?chpasswd)`),
		samples: [][2]string{
			{"echo 'root:Toor!23' | chpasswd", "echo 'root:[REDACTED]' | chpasswd"},
		}},
}

// Negative samples: ordinary text that must come out unchanged.
var plainSamples = []string{
	"echo hello",
	"config=signature&design=sigma",
	"Enter password: ",
	"[sudo] password for bob:",
	"password changed for user bob",
	"PasswordLength=12 PasswordNeverExpires",
	"PWD=/var/lib/waagent OLDPWD=/root bypass=1",
	"SharedAccessKeyName=RootManageSharedAccessKey",
	"powershell -ExecutionPolicy Bypass -File x.ps1",
	"robocopy C:\\a D:\\b /PURGE -PasswordFile c:\\x",
	"net user bob /delete",
	"net user",
	"mysql -u root -p prod < dump.sql",
	"mysql -u root -P 3306 -h db",
	"curl -sSL https://aka.ms/x | bash",
	"ssh -p 2222 root@10.0.0.5",
	"https://github.com/o/r.git user@example.com",
	"docker pull library/nginx:1.25@sha256:0123abcd",
	"2024-01-01T00:01:29.006471Z INFO ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.10.0.8 is running",
	"Authorization failed for the request",
	"Bearer token expired",
	"token=",
	"psql --no-password -h db",
	"tokens=3 secrets: 0",
	`echo "svc ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/svc`,
}

// protectedParamsText redacts each "value": "..." of a protectedParameters
// list inside JSON text.
func protectedParamsText(s string) string {
	return protParams.ReplaceAllStringFunc(s, func(m string) string {
		return paramValue.ReplaceAllString(m, "${1}"+Marker)
	})
}

var (
	protParams = regexp.MustCompile(`(?i)protectedParameters\\*"?\s*:\s*\[[^\]]*\]`)
	paramValue = regexp.MustCompile(`(?i)(\\*"value\\*"\s*:\s*\\*")((?:[^"\\]|\\[^"])*)`)
)

// apply runs one rule over s.
func (r *rule) apply(s string) string {
	if r.fn != nil {
		return r.fn(s)
	}
	return r.re.ReplaceAllStringFunc(s, func(m string) string {
		sub := r.re.FindStringSubmatch(m)
		q, inner := unquote(sub[2])
		if inner == "" || inner == Marker || (r.keep != nil && r.keep(sub)) {
			return m
		}
		out := sub[1] + q + Marker + q
		if len(sub) > 3 {
			out += sub[3]
		}
		return out
	})
}

// unquote splits a value into its quote (", ', or an escaped \" of JSON
// inside a string) and what it quotes.
func unquote(v string) (q, inner string) {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[:1], v[1 : len(v)-1]
	}
	if strings.HasPrefix(v, `\`) {
		i := strings.IndexByte(v, '"')
		if i > 0 && len(v) >= 2*(i+1) && strings.HasSuffix(v, v[:i+1]) {
			return v[:i+1], v[i+1 : len(v)-i-1]
		}
	}
	return "", v
}
