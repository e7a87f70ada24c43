// Command gopythongo-package makes artifacts of the built venv. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/pack"
)

func main() {
	os.Exit(cli.Main(pack.Step(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
