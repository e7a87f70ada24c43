// Command gopythongo-publish puts the artifacts into apt repositories,
// registries and package indexes. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/publish"
)

func main() {
	os.Exit(cli.Main(publish.Step(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
