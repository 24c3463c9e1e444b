package activitylog

import "strings"

// Kinds of control-plane operation on a VM's code-running surface.
const (
	KindRunCommand               = "RunCommand"        // virtualMachines/runCommand/action (Run Command v1)
	KindManagedRunCommand        = "ManagedRunCommand" // virtualMachines/runCommands/write (v2)
	KindManagedRunCommandDel     = "ManagedRunCommandDelete"
	KindExtension                = "Extension" // virtualMachines/extensions/write (CSE, any extension)
	KindExtensionDelete          = "ExtensionDelete"
	KindVMSSRunCommand           = "VMSSRunCommand"
	KindVMSSManagedRunCommand    = "VMSSManagedRunCommand"
	KindVMSSManagedRunCommandDel = "VMSSManagedRunCommandDelete"
	KindVMSSExtension            = "VMSSExtension"
	KindVMSSExtensionDelete      = "VMSSExtensionDelete"
	KindOther                    = "Other"
)

// operation is one known operationName.value: its canonical spelling
// (Microsoft's operations list) and its Kind.
type operation struct{ name, kind string }

// knownOps are keyed by the lower-cased operation value: the Activity
// Log writes them mixed-case, Log Analytics and some SIEMs upper-case.
var knownOps = map[string]operation{}

func init() {
	for _, o := range []operation{
		{"Microsoft.Compute/virtualMachines/runCommand/action", KindRunCommand},
		{"Microsoft.Compute/virtualMachines/runCommands/write", KindManagedRunCommand},
		{"Microsoft.Compute/virtualMachines/runCommands/delete", KindManagedRunCommandDel},
		{"Microsoft.Compute/virtualMachines/extensions/write", KindExtension},
		{"Microsoft.Compute/virtualMachines/extensions/delete", KindExtensionDelete},
		{"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action", KindVMSSRunCommand},
		{"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/write", KindVMSSManagedRunCommand},
		{"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/delete", KindVMSSManagedRunCommandDel},
		{"Microsoft.Compute/virtualMachineScaleSets/extensions/write", KindVMSSExtension},
		{"Microsoft.Compute/virtualMachineScaleSets/extensions/delete", KindVMSSExtensionDelete},
		{"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/write", KindVMSSExtension},
		{"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/delete", KindVMSSExtensionDelete},
		// Context for a timeline (Kind Other, canonical case).
		{"Microsoft.Compute/virtualMachines/write", KindOther},
		{"Microsoft.Compute/virtualMachines/delete", KindOther},
		{"Microsoft.Compute/virtualMachines/start/action", KindOther},
		{"Microsoft.Compute/virtualMachines/restart/action", KindOther},
		{"Microsoft.Compute/virtualMachines/deallocate/action", KindOther},
		{"Microsoft.Compute/virtualMachines/powerOff/action", KindOther},
		{"Microsoft.Compute/virtualMachines/runCommands/read", KindOther},
		{"Microsoft.Compute/disks/beginGetAccess/action", KindOther},
		{"Microsoft.Compute/snapshots/write", KindOther},
		{"Microsoft.Authorization/roleAssignments/write", KindOther},
	} {
		knownOps[strings.ToLower(o.name)] = o
	}
}

// NormaliseOperation returns the operation value in one spelling
// whatever the export wrote: the canonical case for known operations,
// lower case for the rest (so the same unknown operation read from a
// REST page and from an upper-case Log Analytics export is one value).
func NormaliseOperation(op string) (name, kind string) {
	op = strings.TrimSpace(op)
	if op == "" {
		return "", ""
	}
	l := strings.ToLower(op)
	if o, ok := knownOps[l]; ok {
		return o.name, o.kind
	}
	return l, KindOther
}

// Clients are the first-party application ids a responder meets in the
// claims' appid: the tools an operator drives Azure with.
var Clients = map[string]string{
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Azure CLI",
	"1950a258-227b-4e31-a9cf-717495945fc2": "Azure PowerShell",
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure portal",
}

// resourceParts are what a resource id names on the VM side.
type resourceParts struct {
	sub, rg, vm, ext string
}

// parseResourceID splits /subscriptions/<s>/resourceGroups/<rg>/providers/
// Microsoft.Compute/virtualMachines/<vm>[/extensions|runCommands/<n>]
// (any case). A VMSS instance (virtualMachineScaleSets/<ss>/virtualMachines/<i>)
// is named <ss>_<i>, the VM name Azure gives scale-set instances.
func parseResourceID(id string) resourceParts {
	var p resourceParts
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		k, v := strings.ToLower(parts[i]), parts[i+1]
		switch k {
		case "subscriptions":
			if p.sub == "" {
				p.sub = v
			}
		case "resourcegroups":
			if p.rg == "" {
				p.rg = v
			}
		case "virtualmachinescalesets":
			if i+3 < len(parts) && strings.EqualFold(parts[i+2], "virtualMachines") {
				p.vm = v + "_" + parts[i+3]
				i += 3
				continue
			}
			if p.vm == "" {
				p.vm = v
			}
		case "virtualmachines":
			p.vm = v
		case "extensions", "runcommands":
			if p.vm != "" {
				p.ext = v
			}
		}
		i++
	}
	return p
}

// displayOps are operationName.localizedValue -> value (docs/formats.md §5,
// Microsoft.Compute's operations list), for exports that keep only the
// display name.
var displayOps = map[string]string{
	"run command on virtual machine":             "Microsoft.Compute/virtualMachines/runCommand/action",
	"create or update virtual machine extension": "Microsoft.Compute/virtualMachines/extensions/write",
	"delete virtual machine extension":           "Microsoft.Compute/virtualMachines/extensions/delete",
}
