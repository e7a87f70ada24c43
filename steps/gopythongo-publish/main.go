// Command gopythongo-publish puts the artifacts into apt repositories,
// registries and package indexes. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/store"
)

// Only this step signs, so only it links OpenPGP.
func main() {
	os.Exit(cli.Main(publishstep.Publish(store.Signers(pgp.NewSigner)), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
