// Command gopythongo-publish puts the artifacts into apt repositories,
// registries and package indexes. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps"
)

func main() {
	os.Exit(cli.Main(steps.Publish(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
