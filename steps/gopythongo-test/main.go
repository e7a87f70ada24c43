// Command gopythongo-test runs the project's test suites. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/teststep"
)

func main() {
	os.Exit(cli.Main(teststep.Test(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
