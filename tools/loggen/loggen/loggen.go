// Package loggen writes large, realistic waagent.log files (agent >= 2.9,
// ISO UTC era) for benchmarks: periodic heartbeat and monitor lines,
// goal-state processing, extension runs with "Executing command ... with
// environment variables" lines and multi-line "Command:" records, daemon
// restarts, warnings. Output is deterministic for a seed.
package loggen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"strconv"
	"strings"
	"time"
)

// Handlers that run on a typical VM.
var handlers = []struct{ name, version, shim string }{
	{"Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", "bin/run-command-shim"},
	{"Microsoft.Azure.Extensions.CustomScript", "2.1.10", "bin/custom-script-shim"},
	{"Microsoft.Azure.Monitor.AzureMonitorLinuxAgent", "1.29.6", "./shim.sh"},
	{"Microsoft.CPlat.Core.RunCommandHandlerLinux", "1.3.9", "bin/run-command-handler-shim"},
	{"Microsoft.OSTCExtensions.VMAccessForLinux", "1.5.18", "vmaccess.py"},
}

type gen struct {
	w     *bufio.Writer
	rnd   *rand.Rand
	now   time.Time
	n     int64
	seq   map[string]int
	etag  uint64
	inc   int
	hb    int
	agent string
}

func (g *gen) ts() string {
	g.now = g.now.Add(time.Duration(g.rnd.Intn(900)+50) * time.Microsecond)
	return g.now.Format("2006-01-02T15:04:05.000000Z")
}

func (g *gen) advance(d time.Duration) { g.now = g.now.Add(d) }

func (g *gen) line(level, thread, prefix, msg string) {
	s := g.ts() + " " + level + " " + thread + " " + prefix + " " + msg + "\n"
	g.n += int64(len(s))
	g.w.WriteString(s)
}

func (g *gen) raw(s string) {
	g.n += int64(len(s)) + 1
	g.w.WriteString(s)
	g.w.WriteByte('\n')
}

func (g *gen) uuid() string {
	b := make([]byte, 16)
	g.rnd.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g *gen) periodic() {
	switch r := g.rnd.Intn(100); {
	case r < 30:
		g.hb++
		g.line("INFO", "ExtHandler", "ExtHandler", fmt.Sprintf("[HEARTBEAT] Agent %s is running as the goal state agent [DEBUG HeartbeatCounter: %d;HeartbeatId: %s;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1;UpdateMode: SelfUpdate]", g.agent, g.hb, strings.ToUpper(g.uuid())))
	case r < 45:
		g.line("INFO", "MonitorHandler", "ExtHandler", "[PERIODIC] Checking agent cgroup memory usage: rss=41.5 MB, cache=12.0 MB, swap=0 MB")
	case r < 55:
		g.line("INFO", "EnvHandler", "ExtHandler", "[PERIODIC] Firewall rules: [ACCEPT tcp -- 0.0.0.0/0 168.63.129.16 tcp dpt:53, ACCEPT tcp -- 0.0.0.0/0 168.63.129.16 owner UID match 0, DROP tcp -- 0.0.0.0/0 168.63.129.16 ctstate INVALID,NEW]")
	case r < 65:
		g.line("INFO", "ExtHandler", "ExtHandler", fmt.Sprintf("Fetched a new incarnation for the WireServer goal state [incarnation %d]", g.inc))
	case r < 72:
		g.line("INFO", "CollectLogsHandler", "ExtHandler", "Starting log collection...")
		g.line("INFO", "MainThread", "LogCollector", "Running log collector mode normal")
		g.line("INFO", "MainThread", "LogCollector", fmt.Sprintf("Successfully collected logs. Archive size: %d b, elapsed time: %d ms", 1000000+g.rnd.Intn(4000000), 2000+g.rnd.Intn(9000)))
		g.line("INFO", "CollectLogsHandler", "ExtHandler", "Successfully uploaded logs.")
	case r < 80:
		g.line("WARNING", "ExtHandler", "ExtHandler", "Fetch failed: [HttpError] [HTTP Failed] GET http://168.63.129.16:32526/extensionArtifact -- Status Code 502 -- 1 attempts made")
	case r < 86:
		g.line("INFO", "MonitorHandler", "ExtHandler", "[CGW] Disabling resource usage monitoring. Reason: Check on cgroups failed:\n[CGroupsException] The agent's cgroup includes unexpected processes: ['[PID: "+strconv.Itoa(1000+g.rnd.Intn(30000))+"] UNKNOWN']")
	case r < 92:
		g.line("INFO", "SendTelemetryHandler", "ExtHandler", fmt.Sprintf("Successfully sent %d events to Wireserver", 1+g.rnd.Intn(20)))
	default:
		g.line("INFO", "TelemetryEventsCollector", "ExtHandler", fmt.Sprintf("Collected %d events for extension: %s", 1+g.rnd.Intn(5), handlers[g.rnd.Intn(len(handlers))].name))
	}
	g.advance(time.Duration(g.rnd.Intn(60)+1) * time.Second)
}

func (g *gen) goalState() {
	g.etag = g.etag*6364136223846793005 + 1442695040888963407
	etag := strconv.FormatUint(g.etag%9000000000000000000+1000000000000000000, 10)
	corr := g.uuid()
	g.line("INFO", "ExtHandler", "ExtHandler", "Fetched new vmSettings [HostGAPlugin correlation ID: "+corr+" eTag: "+etag+" source: FastTrack]")
	start := g.now
	g.line("INFO", "ExtHandler", "ExtHandler", "ProcessExtensionsGoalState started [etag_"+etag+" channel: HostGAPlugin source: FastTrack activity: "+g.uuid()+" correlation "+corr+" created: "+g.now.Add(-6*time.Second).Format("2006-01-02T15:04:05.000000Z")+"]")
	nh := 1 + g.rnd.Intn(3)
	for i := 0; i < nh; i++ {
		h := handlers[g.rnd.Intn(len(handlers))]
		g.extensionRun(h.name, h.version, h.shim, etag)
	}
	g.line("INFO", "ExtHandler", "ExtHandler", fmt.Sprintf("ProcessExtensionsGoalState completed [etag_%s %d ms]\n", etag, g.now.Sub(start).Milliseconds()))
	g.line("INFO", "ExtHandler", "ExtHandler", "Extension status reporting: [status blob of "+strconv.Itoa(2000+g.rnd.Intn(8000))+" bytes uploaded]")
}

func (g *gen) extensionRun(name, version, shim, etag string) {
	g.seq[name]++
	seq := g.seq[name]
	p := "[" + name + "-" + version + "]"
	mc := strings.HasSuffix(name, "RunCommandHandlerLinux")
	ext := ""
	settings := strconv.Itoa(seq) + ".settings"
	if mc {
		ext = fmt.Sprintf("runcmd%d", g.rnd.Intn(4))
		p = "[" + name + "." + ext + "-" + version + "]"
		settings = ext + "." + strconv.Itoa(seq) + ".settings"
	}
	dir := "/var/lib/waagent/" + name + "-" + version
	g.line("INFO", "ExtHandler", p, "Target handler state: enabled [etag_"+etag+"]")
	g.line("INFO", "ExtHandler", p, "[Enable] current handler state is: enabled")
	g.line("INFO", "ExtHandler", p, "Update settings file: "+settings)
	g.line("INFO", "ExtHandler", p, "Requested extension state: enabled")
	g.line("INFO", "ExtHandler", p, "Enable extension: ["+shim+" enable]")
	env := `{"AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE": "NOT_RUN", "AZURE_GUEST_AGENT_EXTENSION_PATH": "` + dir +
		`", "AZURE_GUEST_AGENT_EXTENSION_VERSION": "` + version + `", "AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "168.63.129.16", "ConfigSequenceNumber": "` + strconv.Itoa(seq) + `"`
	if mc {
		env += `, "ConfigExtensionName": "` + ext + `"`
	}
	env += `, "AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES": "[{\"Key\": \"ExtensionTelemetryPipeline\", \"Value\": \"1.0\"}]"}`
	g.line("INFO", "ExtHandler", p, "Executing command: "+dir+"/"+shim+" enable with environment variables: "+env)
	unit := "enable_" + g.uuid() + ".scope"
	g.line("INFO", "ExtHandler", "ExtHandler", "[CGI] Started extension in unit '"+unit+"'")
	g.advance(time.Duration(500+g.rnd.Intn(3000)) * time.Millisecond)
	var out strings.Builder
	out.WriteString("Command: " + shim + " enable\n[stdout]\n")
	out.WriteString("Writing a placeholder status file indicating progress before forking: " + dir + "/status/" + strconv.Itoa(seq) + ".status\n")
	out.WriteString("+ nohup " + dir + "/bin/extension enable\n")
	for i, n := 0, g.rnd.Intn(12); i < n; i++ {
		fmt.Fprintf(&out, "time=%s version=v%s/git@%07x-clean operation=enable seq=%d event=\"step %d\"\n", g.now.Format(time.RFC3339), version, g.rnd.Intn(1<<28), seq, i)
	}
	out.WriteString("[stderr]\nRunning scope as unit: " + unit)
	g.line("INFO", "ExtHandler", p, out.String())
}

func (g *gen) restart() {
	g.line("INFO", "Daemon", "Daemon", "Azure Linux Agent Version: 2.2.53")
	g.line("INFO", "Daemon", "Daemon", "OS: ubuntu 22.04")
	g.line("INFO", "Daemon", "Daemon", "Python: 3.10.12")
	g.line("INFO", "Daemon", "Daemon", "Run daemon")
	g.line("INFO", "Daemon", "Daemon", "Wire server endpoint:168.63.129.16")
	g.line("INFO", "Daemon", "Daemon", "Determined Agent "+g.agent+" to be the latest agent")
	g.line("INFO", "ExtHandler", "ExtHandler", "Azure Linux Agent (Goal State Agent version "+strings.TrimPrefix(g.agent, "WALinuxAgent-")+")")
	g.line("INFO", "ExtHandler", "ExtHandler", "Distro: ubuntu-22.04; OSUtil: Ubuntu18OSUtil; AgentService: walinuxagent; Python: 3.10.12; systemd: True; LISDrivers: Absent; logrotate: logrotate 3.19.0;")
	g.line("INFO", "ExtHandler", "ExtHandler", "[CGI] systemd version: systemd 249 (249.11-0ubuntu3.12)")
	g.line("INFO", "ExtHandler", "ExtHandler", "[CGI] cgroups v1 are enabled: cpu,cpuacct,memory")
}

// Generate writes about size bytes (whole records) of log to w.
func Generate(w io.Writer, size int64, seed int64) (int64, error) {
	g := &gen{
		w:     bufio.NewWriterSize(w, 1<<20),
		rnd:   rand.New(rand.NewSource(seed)),
		now:   time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed%86400) * time.Second),
		seq:   map[string]int{},
		etag:  uint64(seed),
		inc:   1,
		agent: "WALinuxAgent-2.10.0.8",
	}
	g.restart()
	for g.n < size {
		switch r := g.rnd.Intn(1000); {
		case r < 2:
			g.restart()
		case r < 60:
			g.inc++
			g.goalState()
		default:
			g.periodic()
		}
	}
	return g.n, g.w.Flush()
}

// ParseSize reads "200MB", "50MiB", "1G", "4096" (K/M/G are powers of 1024).
func ParseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSuffix(u, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(u), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
