package main

import (
	"flag"
	"io"
)

// envFlags binds a subcommand's flags, each taking its default from its env
// twin (SWITCHBOARD_...), so every flag can be set either way.
type envFlags struct {
	*flag.FlagSet
	getenv func(string) string
}

func newEnvFlags(name string, getenv func(string) string, stderr io.Writer) envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return envFlags{FlagSet: fs, getenv: getenv}
}

// str binds a string flag whose default is envName's value, or def.
func (f envFlags) str(p *string, name, envName, def, help string) {
	if v := f.getenv(envName); v != "" {
		def = v
	}
	f.StringVar(p, name, def, help+" (env "+envName+")")
}
