// Command gopythongo-publish puts the artifacts into apt repositories,
// registries and package indexes. See --help.
package main

import (
	"os"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/storeask"
)

// Only this step signs, so only it links OpenPGP. It also answers
// gopythongo-version's question of what a store holds (storeask).
func main() {
	if len(os.Args) == 2 && os.Args[1] == "--"+storeask.Flag {
		os.Exit(publishstep.AnswerStore(os.Stdin, os.NewFile(3, "answer"), os.Stdout, os.Stderr, os.LookupEnv))
	}
	os.Exit(cli.Main(publishstep.Publish(store.Signers(pgp.NewSigner)), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
}
