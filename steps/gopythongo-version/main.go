// Command gopythongo-version computes the version of a build. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
)

func main() {
	os.Exit(cli.Main(versionstep.Version(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
