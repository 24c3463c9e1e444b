package artifacts

// NewApiDescription returns an empty API description, to be filled
// with AddPlugin and AddFunction from a list of another host's
// plugins and functions (e.g. stock Velociraptor's, as its own
// verifier reads them from docs/references/vql.yaml).
func NewApiDescription() *ApiDescription {
	return &ApiDescription{
		functions: make(map[string]callDescriptor),
		plugins:   make(map[string]callDescriptor),
	}
}

func newCallDescriptor(args []string, required []bool, free_form bool) callDescriptor {
	desc := callDescriptor{
		// Velociraptor ignores ** kwargs calls (verifier.go init).
		ArgsRequired: map[string]bool{"**": false},
		FreeFormArgs: free_form,
	}
	for i, a := range args {
		desc.ArgsRequired[a] = i < len(required) && required[i]
	}
	return desc
}

// AddPlugin declares a plugin with its args (required[i] says whether
// args[i] is required); free_form plugins take any args.
func (self *ApiDescription) AddPlugin(name string, args []string, required []bool, free_form bool) {
	self.plugins[name] = newCallDescriptor(args, required, free_form)
}

// AddFunction declares a function, as AddPlugin.
func (self *ApiDescription) AddFunction(name string, args []string, required []bool, free_form bool) {
	self.functions[name] = newCallDescriptor(args, required, free_form)
}
