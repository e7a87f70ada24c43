// Command gopythongo-package makes artifacts of the built venv. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
)

func main() {
	os.Exit(cli.Main(packagestep.Package(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
