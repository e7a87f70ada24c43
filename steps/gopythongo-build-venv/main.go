// Command gopythongo-build-venv builds the venv at its deploy path. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/venv"
)

func main() {
	if venv.IsNSExec(os.Args) {
		os.Exit(venv.NSExecMain())
	}
	os.Exit(cli.Main(buildvenvstep.BuildVenv(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
