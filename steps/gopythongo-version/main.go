// Command gopythongo-version computes the version of a build. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
)

// The stores are not linked: version.revision_from asks gopythongo-publish.
func main() {
	os.Exit(cli.Main(versionstep.Version(versionstep.AskPublish), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
