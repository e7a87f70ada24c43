// Command gopythongo-test runs the project's test suites. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/testrun"
)

func main() {
	os.Exit(cli.Main(testrun.Step(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
